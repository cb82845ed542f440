"""Resource configuration operations: create, get, list (by gateway, group or domain verification), update
(definition, port ranges, shareability), delete (204; refused while associated or while a group has children;
cascades to the auth policy, resource policy and access log subscriptions).

The type rules come first, as data and pure checks: which members each type takes (the API reference marks
every CreateResourceConfiguration member with the types it applies to), port ranges, IP addresses, CIDR
ranges and ARNs (User Guide, "Resource configuration for VPC resources"). Records: kind
"resourceconfiguration", name, ref = resource gateway ID, parent = group configuration ID for CHILD types.
Nothing is reachable through a configuration: Latticework stores and validates it only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from latticework.control.backend._context import Ctx, delete_attachments, pick
from latticework.control.backend._kinds import parse_arn
from latticework.control.backend._paging import page
from latticework.control.backend.domain_verifications import domain_problem, verification_status, within
from latticework.control.backend.resource_associations import (
    add_child_association,
    direct_associations,
    drop_associations,
    id_of,
    is_shareable,
)
from latticework.control.backend.resource_gateways import IN_VPC, settling
from latticework.control.backend.tags import check_tags
from latticework.control.errors import ConflictException, FieldError, ValidationException
from latticework.control.store import Record

__all__ = [
    "create_resource_configuration",
    "delete_resource_configuration",
    "get_resource_configuration",
    "list_resource_configurations",
    "update_resource_configuration",
]

_GATEWAY = "resourceGatewayIdentifier"
_GROUP = "resourceConfigurationGroupIdentifier"
_DEFINITION = "resourceConfigurationDefinition"
_SHAREABLE = "allowAssociationToShareableServiceNetwork"
_VERIFICATION = "domainVerificationIdentifier"
# Members that apply to some types only; each type lists the ones it takes.
_TYPED_MEMBERS = (
    _GATEWAY,
    _GROUP,
    _DEFINITION,
    "portRanges",
    "protocol",
    _SHAREABLE,
    "customDomainName",
    "groupDomain",
    _VERIFICATION,
)


@dataclass(frozen=True, slots=True)
class TypeRules:
    """What one resource configuration type takes: its definition members and its typed members."""

    definitions: frozenset[str]
    members: frozenset[str]

    @property
    def required(self) -> tuple[str, ...]:
        """A CHILD takes its gateway from its group; every other type names its own."""
        needed = [m for m in (_GATEWAY, _GROUP) if m in self.members]
        return (*needed, _DEFINITION) if self.definitions else tuple(needed)


_DOMAINS = ("customDomainName", _VERIFICATION)
# API reference, CreateResourceConfiguration: portRanges (SINGLE, GROUP, CHILD, CIDR); protocol (SINGLE,
# GROUP, CIDR); resourceGatewayIdentifier (SINGLE, GROUP, ARN, CIDR; a CHILD inherits its group's);
# allowAssociationToShareableServiceNetwork (SINGLE, GROUP, ARN); groupDomain (GROUP). User Guide: SINGLE and
# CHILD are "an IP address or a domain name"; a group's children use subdomains of its group domain.
TYPE_RULES: Mapping[str, TypeRules] = {
    "SINGLE": TypeRules(
        frozenset({"dnsResource", "ipResource"}),
        frozenset({_GATEWAY, _DEFINITION, "portRanges", "protocol", _SHAREABLE, *_DOMAINS}),
    ),
    "GROUP": TypeRules(
        frozenset(), frozenset({_GATEWAY, "portRanges", "protocol", _SHAREABLE, "groupDomain", _VERIFICATION})
    ),
    "CHILD": TypeRules(
        frozenset({"dnsResource", "ipResource"}), frozenset({_GROUP, _DEFINITION, "portRanges", *_DOMAINS})
    ),
    "ARN": TypeRules(frozenset({"arnResource"}), frozenset({_GATEWAY, _DEFINITION, _SHAREABLE, *_DOMAINS})),
    "CIDR": TypeRules(frozenset({"cidrResource"}), frozenset({_GATEWAY, _DEFINITION, "portRanges", "protocol"})),
}

# CLI example, create-resource-configuration: created without port ranges, it reports ["1-65535"] and "TCP".
DEFAULT_PORT_RANGES = ("1-65535",)
DEFAULT_PROTOCOL = "TCP"
# The API reference says allowAssociationToShareableServiceNetwork defaults to false, but AWS answers true when
# it is not given (CLI example output; Terraform's acceptance tests against AWS): we follow what AWS does.
DEFAULT_SHAREABLE = True
DEFAULT_DNS_IP_ADDRESS_TYPE = "IPV4"
MAX_PORT = 65535
# User Guide, "Resource definition": "For IPv4, specify a private IP from the following ranges: 10.0.0.0/8,
# 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16 ... Public IPs aren't supported."
PRIVATE_IPV4 = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16")
)
# API reference, CreateResourceConfiguration, cidrResource: "You can't use reserved ranges such as
# 169.254.0.0/16, 100.64.0.0/10, 224.0.0.0/4, fe80::/10, or ff00::/8."
RESERVED_CIDRS = tuple(
    ipaddress.ip_network(n) for n in ("169.254.0.0/16", "100.64.0.0/10", "224.0.0.0/4", "fe80::/10", "ff00::/8")
)
# API reference, CreateResourceGateway, ipAddressType: a gateway serves resources of its address families.
_GATEWAY_FAMILIES = {"IPV4": {4}, "IPV6": {6}, "DUALSTACK": {4, 6}}

_CREATE_FIELDS = (
    _SHAREABLE,
    "arn",
    "customDomainName",
    "domainVerificationArn",
    "domainVerificationId",
    "groupDomain",
    "id",
    "name",
    "portRanges",
    "protocol",
    _DEFINITION,
    "resourceConfigurationGroupId",
    "resourceGatewayId",
    "type",
)
_GET_FIELDS = (*_CREATE_FIELDS, "amazonManaged", "createdAt", "failureReason", "lastUpdatedAt")
_LIST_FIELDS = (
    "amazonManaged",
    "arn",
    "createdAt",
    "customDomainName",
    "domainVerificationId",
    "groupDomain",
    "id",
    "lastUpdatedAt",
    "name",
    "resourceConfigurationGroupId",
    "resourceGatewayId",
    "type",
)
_UPDATE_FIELDS = (
    _SHAREABLE,
    "arn",
    "id",
    "name",
    "portRanges",
    "protocol",
    _DEFINITION,
    "resourceConfigurationGroupId",
    "resourceGatewayId",
    "type",
)


# -- pure rules ---------------------------------------------------------------------------------------------


def member_problems(kind: str, params: Mapping[str, Any], *, creating: bool = True) -> list[FieldError]:
    """Members a type does not take, members it needs (when creating), and protocol/domain pairings."""
    rules = TYPE_RULES[kind]
    problems = [
        FieldError(m, f"{m} does not apply to {kind} resource configurations; remove it.")
        for m in _TYPED_MEMBERS
        if params.get(m) is not None and m not in rules.members
    ]
    if creating:
        problems += [
            FieldError(m, f"A {kind} resource configuration needs {m}.")
            for m in rules.required
            if params.get(m) is None
        ]
    if params.get("protocol") == "TCP_UDP" and kind != "CIDR":
        # API reference, CreateResourceConfiguration, protocol: "TCP_UDP is supported only for CIDR".
        problems.append(FieldError("protocol", "TCP_UDP is supported only for CIDR resource configurations; use TCP."))
    if params.get(_VERIFICATION) is not None and not (params.get("customDomainName") or params.get("groupDomain")):
        problems.append(
            FieldError(_VERIFICATION, "A domain verification applies to a customDomainName or groupDomain; set one.")
        )
    return problems


def definition_problems(kind: str, definition: Mapping[str, Any] | None) -> list[FieldError]:
    """What is wrong with a resourceConfigurationDefinition for this type (the model already made it a union)."""
    allowed = TYPE_RULES[kind].definitions
    if not definition or not allowed:  # a type without definitions is reported by member_problems
        return []
    member, body = next((k, v) for k, v in definition.items() if v is not None)
    path = f"{_DEFINITION}.{member}"
    if member not in allowed:
        choices = " or ".join(sorted(allowed))
        return [FieldError(path, f"A {kind} resource configuration takes {choices}, not {member}.")]
    return [FieldError(f"{path}.{field}", message) for field, message in _body_problems(member, body)]


def port_range_problem(text: str) -> str | None:
    """Why a port range ("443" or "1-65535") is not valid, or None."""
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        return f"'{text}' is not a port or port range such as 443 or 1-65535."
    if not (1 <= first <= MAX_PORT and 1 <= last <= MAX_PORT):
        return f"Port range '{text}' must use ports from 1 to {MAX_PORT}."
    if first > last:
        return f"Port range '{text}' must run from the lower port to the higher one."
    return None


def port_problems(ranges: list[str] | None) -> list[FieldError]:
    problems = (port_range_problem(r) for r in ranges or ())
    return [FieldError("portRanges", p) for p in problems if p is not None]


def ip_problem(text: str) -> str | None:
    """Why an ipResource address is not acceptable, or None."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return f"'{text}' is not an IPv4 or IPv6 address."
    if isinstance(address, ipaddress.IPv4Address) and not any(address in n for n in PRIVATE_IPV4):
        return (
            f"'{text}' is not a private IPv4 address: use one in 10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12 or "
            "192.168.0.0/16."
        )
    return None


def cidr_problems(ranges: list[str]) -> list[str]:
    """What is wrong with a cidrResource's ranges (each needs a prefix length; no reserved ranges; an
    all-addresses range must stand alone)."""
    problems: list[str] = []
    networks = []
    for text in ranges:
        try:
            network = ipaddress.ip_network(text) if "/" in text else None
        except ValueError as error:
            problems.append(f"'{text}' is not a CIDR block: {error}.")
            continue
        if network is None:
            problems.append(f"'{text}' needs a prefix length, e.g. {text}/32.")
        elif any(network.version == r.version and network.subnet_of(r) for r in RESERVED_CIDRS):  # type: ignore[arg-type]
            problems.append(f"'{text}' is in a reserved range and cannot be shared.")
        else:
            networks.append(network)
    if len(ranges) > 1 and any(n.prefixlen == 0 for n in networks):
        problems.append("0.0.0.0/0 or ::/0 stands for the whole network and must be the only range.")
    return problems


def arn_problem(arn: str) -> str | None:
    """User Guide, "Resource definition": for ARN configurations "Only Amazon RDS databases are supported"."""
    parsed = parse_arn(arn)
    if parsed is None or parsed[0] != "rds":
        return f"'{arn}' is not an Amazon RDS ARN; ARN resource configurations support RDS databases only."
    return None


def address_families(definition: Mapping[str, Any] | None) -> set[int] | None:
    """The IP versions a SINGLE or CHILD resource has (None when the definition says nothing about it)."""
    definition = definition or {}
    if definition.get("ipResource"):
        return {ipaddress.ip_address(definition["ipResource"]["ipAddress"]).version}
    if definition.get("dnsResource"):
        return _GATEWAY_FAMILIES[definition["dnsResource"]["ipAddressType"]]
    return None


def with_defaults(definition: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The definition as stored: a dnsResource without ipAddressType is IPV4 (deviation: AWS's default is not
    documented)."""
    if not definition:
        return None
    stored = {k: dict(v) for k, v in definition.items() if v is not None}
    if "dnsResource" in stored:
        stored["dnsResource"].setdefault("ipAddressType", DEFAULT_DNS_IP_ADDRESS_TYPE)
    return stored


def _body_problems(member: str, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    field, check = _BODY_CHECKS[member]
    value = body.get(field)
    if not value:
        return [(field, f"{member} needs {field}.")]
    return [(field, problem) for problem in check(value)]


def _one(check: Callable[[str], str | None]) -> Callable[[str], list[str]]:
    return lambda value: [p for p in (check(value),) if p is not None]


# Each definition member: the field it needs and the check of its value.
_BODY_CHECKS: Mapping[str, tuple[str, Callable[[Any], list[str]]]] = {
    "dnsResource": ("domainName", _one(domain_problem)),
    "ipResource": ("ipAddress", _one(ip_problem)),
    "arnResource": ("arn", _one(arn_problem)),
    "cidrResource": ("cidrRanges", cidr_problems),
}


def _raise_if(problems: list[FieldError]) -> None:
    if problems:
        raise ValidationException.from_fields(problems)


# -- operations ---------------------------------------------------------------------------------------------


def create_resource_configuration(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """A CHILD added to a group that is associated with service networks is associated with them too (User
    Guide: "When added, its automatically accessible to those who can access the group")."""
    kind, name = params["type"], params["name"]
    tags = params.get("tags") or {}
    check_tags(tags)
    definition = params.get(_DEFINITION)
    _raise_if(
        member_problems(kind, params)
        + definition_problems(kind, definition)
        + port_problems(params.get("portRanges"))
        + _domain_problems(params)
    )
    ctx.require_unique_name("resourceconfiguration", name)
    ctx.check_quota("resource_configurations_per_region", ctx.count("resourceconfiguration"), "RESOURCE_CONFIGURATION")
    group = _group(ctx, params[_GROUP]) if kind == "CHILD" else None
    gateway = ctx.resolve("resourcegateway", params[_GATEWAY]) if group is None else _gateway_of(ctx, group)
    stored = with_defaults(definition)
    _require_fit(kind, gateway, stored)
    verification = ctx.resolve("domainverification", params[_VERIFICATION]) if params.get(_VERIFICATION) else None
    _require_domains_fit(params, group, verification)
    doc = ctx.provisioning(_new_doc(kind, params, gateway, group, stored, verification))
    record = ctx.new_record("resourceconfiguration", doc, name=name, ref=gateway.id, parent=group.id if group else None)
    ctx.tx.put(record)
    for association in direct_associations(ctx, group) if group else ():
        add_child_association(ctx, association, record)
    return {**pick(record.doc, *_CREATE_FIELDS), "status": ctx.status(record)}


def get_resource_configuration(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """A CHILD without a verification of its own reports its group's status (User Guide: "Child resources
    inherit the verification status of the domain")."""
    record = ctx.resolve("resourceconfiguration", params["resourceConfigurationIdentifier"])
    verification = record.doc.get("domainVerificationId")
    if verification is None and record.parent:
        group = ctx.get_or_none("resourceconfiguration", record.parent)
        verification = group.doc.get("domainVerificationId") if group else None
    return {
        **pick(record.doc, *_GET_FIELDS),
        "status": ctx.status(record),
        "domainVerificationStatus": verification_status(ctx, verification),
    }


def list_resource_configurations(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    verification = id_of(params.get(_VERIFICATION))

    def keep(record: Record) -> bool:
        return verification is None or record.doc.get("domainVerificationId") == verification

    def item(record: Record) -> dict[str, Any]:
        return {**pick(record.doc, *_LIST_FIELDS), "status": ctx.status(record)}

    return page(
        ctx,
        "ListResourceConfigurations",
        params,
        "resourceconfiguration",
        item,
        keep=keep,
        ref=id_of(params.get(_GATEWAY)),
        parent=id_of(params.get(_GROUP)),
    )


def update_resource_configuration(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Deviation: turning allowAssociationToShareableServiceNetwork off while the configuration is associated
    with a shareable service network is refused (ValidationException) rather than left inconsistent."""
    record = ctx.resolve("resourceconfiguration", params["resourceConfigurationIdentifier"])
    kind = record.doc["type"]
    definition = params.get(_DEFINITION)
    _raise_if(
        member_problems(kind, params, creating=False)
        + definition_problems(kind, definition)
        + port_problems(params.get("portRanges"))
    )
    if definition:
        stored = with_defaults(definition)
        _require_fit(kind, _gateway_of(ctx, record), stored)
        record.doc[_DEFINITION] = stored
    if params.get("portRanges"):
        record.doc["portRanges"] = params["portRanges"]
    if params.get(_SHAREABLE) is not None:
        if not params[_SHAREABLE]:
            _require_unshared(ctx, record)
        record.doc[_SHAREABLE] = params[_SHAREABLE]
    settling(ctx, record.doc)
    ctx.touch(record)
    return {**pick(record.doc, *_UPDATE_FIELDS), "status": ctx.status(record)}


def delete_resource_configuration(ctx: Ctx, params: dict[str, Any]) -> None:
    """Deviation: deleting a GROUP that still has children is refused (ConflictException) rather than deleting
    them; the API reference does not say which AWS does. A CHILD can go while its group is associated: Lattice's
    associations for it go with it."""
    record = ctx.resolve("resourceconfiguration", params["resourceConfigurationIdentifier"])
    _require_deletable(ctx, record)
    drop_associations(ctx, record)
    # API reference, DeleteResourceConfiguration / User Guide: the auth policy, resource policy and access log
    # subscriptions of a resource go with it.
    delete_attachments(ctx, record)
    ctx.tx.delete(record)


# -- helpers that read the store ----------------------------------------------------------------------------


def _new_doc(
    kind: str,
    params: Mapping[str, Any],
    gateway: Record,
    group: Record | None,
    definition: dict[str, Any] | None,
    verification: Record | None,
) -> dict[str, Any]:
    members = TYPE_RULES[kind].members
    inherited_ports = group.doc["portRanges"] if group else list(DEFAULT_PORT_RANGES)
    return {
        "type": kind,
        "resourceGatewayId": gateway.id,
        "resourceConfigurationGroupId": group.id if group else None,
        "portRanges": (params.get("portRanges") or inherited_ports) if "portRanges" in members else None,
        "protocol": group.doc["protocol"] if group else _protocol(params, members),
        _DEFINITION: definition,
        _SHAREABLE: params.get(_SHAREABLE, DEFAULT_SHAREABLE) if _SHAREABLE in members else None,
        "customDomainName": params.get("customDomainName"),
        "groupDomain": params.get("groupDomain"),
        "domainVerificationId": verification.id if verification else None,
        "domainVerificationArn": verification.arn if verification else None,
        "amazonManaged": False,
        "tags": params.get("tags") or {},
    }


def _protocol(params: Mapping[str, Any], members: frozenset[str]) -> str | None:
    return params.get("protocol", DEFAULT_PROTOCOL) if "protocol" in members else None


def _domain_problems(params: Mapping[str, Any]) -> list[FieldError]:
    problems = ((m, domain_problem(params[m])) for m in ("customDomainName", "groupDomain") if params.get(m))
    return [FieldError(m, p) for m, p in problems if p is not None]


def _group(ctx: Ctx, identifier: str) -> Record:
    group = ctx.resolve("resourceconfiguration", identifier)
    if group.doc["type"] != "GROUP":
        raise ValidationException.field(
            _GROUP, f"Resource configuration {group.id} is of type {group.doc['type']}; a CHILD needs a GROUP."
        )
    ctx.check_quota(
        "child_resource_configurations_per_group",
        ctx.count("resourceconfiguration", parent=group.id),
        "RESOURCE_CONFIGURATION",
        group.id,
    )
    return group


def _gateway_of(ctx: Ctx, config: Record) -> Record:
    return ctx.resolve("resourcegateway", config.doc["resourceGatewayId"])


def _require_fit(kind: str, gateway: Record, definition: Mapping[str, Any] | None) -> None:
    """API reference, CreateResourceGateway: CIDR configurations need an IN_VPC gateway, ARN configurations
    cannot use one, and the gateway's address type must suit the resource's addresses."""
    resolution = gateway.doc["resourceConfigDnsResolution"]
    problem = None
    if kind == "CIDR" and resolution != IN_VPC:
        problem = (
            f"A CIDR resource configuration needs a gateway with IN_VPC DNS resolution; {gateway.id} is {resolution}."
        )
    elif kind == "ARN" and resolution == IN_VPC:
        problem = f"An ARN resource configuration cannot use IN_VPC resource gateway {gateway.id}; use a PUBLIC one."
    families = address_families(definition)
    gateway_type = gateway.doc["ipAddressType"]
    if problem is None and families is not None and not families & _GATEWAY_FAMILIES[gateway_type]:
        problem = f"Resource gateway {gateway.id} is {gateway_type} and cannot reach this resource's addresses."
    if problem is not None:
        raise ValidationException.field(_GATEWAY if kind != "CHILD" else _GROUP, problem)


def _require_domains_fit(params: Mapping[str, Any], group: Record | None, verification: Record | None) -> None:
    custom = params.get("customDomainName")
    group_domain = group.doc.get("groupDomain") if group else None
    if custom and group_domain and not within(custom, group_domain):
        # User Guide: child configurations "can have custom domains that are subdomains of the group domain".
        raise ValidationException.field(
            "customDomainName", f"'{custom}' must be a subdomain of its group's domain '{group_domain}'."
        )
    domain = custom or params.get("groupDomain")
    if verification is not None and domain and not within(domain, verification.doc["domainName"]):
        # User Guide, "Create and verify a domain": verifying a domain verifies its subdomains, nothing else.
        raise ValidationException.field(
            _VERIFICATION,
            f"Domain verification {verification.id} is for '{verification.doc['domainName']}', which does not "
            f"cover '{domain}'.",
        )


def _require_unshared(ctx: Ctx, config: Record) -> None:
    for association in direct_associations(ctx, config):
        network = ctx.get_or_none("servicenetwork", association.parent or "")
        if network is not None and is_shareable(network):
            raise ValidationException.field(
                _SHAREABLE,
                f"Resource configuration {config.id} is associated with shareable service network {network.id} "
                f"({association.id}); delete that association first.",
            )


def _require_deletable(ctx: Ctx, record: Record) -> None:
    status = ctx.status(record)
    blockers = [
        (status == "CREATE_IN_PROGRESS", "is still being created; delete it once it is ACTIVE"),
        (bool(direct_associations(ctx, record)), "is associated with a service network; delete the association first"),
        (
            bool(ctx.count("resourceconfiguration", parent=record.id)),
            "still has child configurations; delete them first",
        ),
        (bool(ctx.count("rea", parent=record.id)), "has VPC endpoint associations; delete them first"),
    ]
    for blocked, reason in blockers:
        if blocked:
            raise ConflictException(
                f"Resource configuration {record.id} {reason}.", "RESOURCE_CONFIGURATION", record.id
            )
