"""Resource kinds of the Lattice API: ID prefixes, ARN resource types, error resource types; ID, ARN and DNS
name shapes exactly as AWS makes them (reference 1.2). Pure.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

__all__ = ["KINDS", "Kind", "dns_name", "hosted_zone_id", "new_id", "parse_arn"]


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    prefix: str
    arn_type: str  # the resource part of the ARN before the ID
    resource_type: str  # resourceType in ResourceNotFound / Conflict bodies
    hex_ids: bool = False  # a few kinds' patterns allow only hex after the prefix


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("servicenetwork", "sn", "servicenetwork", "SERVICE_NETWORK"),
        Kind("service", "svc", "service", "SERVICE"),
        Kind("listener", "listener", "listener", "LISTENER"),
        Kind("rule", "rule", "rule", "RULE"),
        Kind("targetgroup", "tg", "targetgroup", "TARGET_GROUP"),
        Kind("snsa", "snsa", "servicenetworkserviceassociation", "SERVICE_NETWORK_SERVICE_ASSOCIATION"),
        Kind("snva", "snva", "servicenetworkvpcassociation", "SERVICE_NETWORK_VPC_ASSOCIATION"),
        Kind("snra", "snra", "servicenetworkresourceassociation", "SERVICE_NETWORK_RESOURCE_ASSOCIATION", True),
        Kind("accesslogsubscription", "als", "accesslogsubscription", "ACCESS_LOG_SUBSCRIPTION"),
        Kind("resourcegateway", "rgw", "resourcegateway", "RESOURCE_GATEWAY"),
        Kind("resourceconfiguration", "rcfg", "resourceconfiguration", "RESOURCE_CONFIGURATION"),
        Kind("rea", "rea", "resourceendpointassociation", "RESOURCE_ENDPOINT_ASSOCIATION", True),
        Kind("domainverification", "dv", "domainverification", "DOMAIN_VERIFICATION", True),
        Kind("vpc", "vpc", "vpc", "VPC", True),
        # Internal kinds, keyed by the ID of the resource they belong to.
        Kind("authpolicy", "", "authpolicy", "AUTH_POLICY"),
        Kind("resourcepolicy", "", "resourcepolicy", "RESOURCE_POLICY"),
        Kind("target", "", "target", "TARGET"),
        Kind("tgref", "", "tgref", "TARGET_GROUP_REFERENCE"),
    )
}


def new_id(kind: Kind) -> str:
    """`svc-0a40eebed65f8d69c`: the prefix, then `0` and 16 hex digits, as real IDs look (reference 1.2)."""
    return f"{kind.prefix}-0{secrets.token_hex(8)}"


def parse_arn(arn: str) -> tuple[str, str, str, str] | None:
    """(service, region, account, resource) of an ARN, or None if it is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return parts[2], parts[3], parts[4], parts[5]


def dns_name(service_name: str, service_id: str, account: str, region: str) -> str:
    """`name-0285b53b2eexample.7d67968.vpc-lattice-svcs.us-east-2.on.aws` (User Guide, custom domain names)."""
    partition = hashlib.sha256(f"{account}/{region}".encode()).hexdigest()[:7]
    return f"{service_name}-{service_id.removeprefix('svc-')}.{partition}.vpc-lattice-svcs.{region}.on.aws"


def hosted_zone_id(region: str) -> str:
    """A Route 53-shaped zone ID (`Z` + 20 upper-case characters), stable per region."""
    digest = hashlib.sha256(f"lattice/{region}".encode()).hexdigest().upper()
    return "Z" + digest[:20]
