"""ELBv2 names: the store's record kinds for ALB resources, ARNs, DNS names, and the documented rule that maps
a listener port below 1024 to the port it binds on 127.0.0.1. Pure.
"""

from __future__ import annotations

import secrets
import zlib

__all__ = [
    "LB_KIND",
    "LISTENER_KIND",
    "PRIVILEGED_PORT_OFFSET",
    "RULE_KIND",
    "TARGET_GROUP_KIND",
    "TARGET_KIND",
    "arn",
    "bind_port",
    "dns_name",
    "new_id",
]

LB_KIND = "elbv2-lb"
TARGET_GROUP_KIND = "elbv2-tg"
LISTENER_KIND = "elbv2-listener"
RULE_KIND = "elbv2-rule"
TARGET_KIND = "elbv2-target"
KINDS = (LB_KIND, TARGET_GROUP_KIND, LISTENER_KIND, RULE_KIND, TARGET_KIND)

# DESIGN section 2: ports below 1024 need root, so an internet-facing listener on port P < 1024 binds P + 8000
# (80 -> 8080, 443 -> 8443); ports from 1024 up bind as given.
PRIVILEGED_PORT_OFFSET = 8000


def bind_port(port: int) -> int:
    """The 127.0.0.1 port an internet-facing listener on `port` binds."""
    return port + PRIVILEGED_PORT_OFFSET if port < 1024 else port


def new_id() -> str:
    """The 16 hex digits at the end of every ELBv2 ARN."""
    return secrets.token_hex(8)


def arn(region: str, account: str, resource: str) -> str:
    """`loadbalancer/app/NAME/ID`, `targetgroup/NAME/ID`, `listener/app/NAME/LBID/ID`,
    `listener-rule/app/NAME/LBID/LID/ID` (ELB UG, "Resource types defined by Elastic Load Balancing V2")."""
    return f"arn:aws:elasticloadbalancing:{region}:{account}:{resource}"


def dns_name(name: str, lb_id: str, region: str, scheme: str) -> str:
    """`NAME-DIGITS.REGION.elb.amazonaws.com`, prefixed `internal-` for an internal ALB (as AWS shapes them)."""
    digits = zlib.crc32(lb_id.encode()) % 10**10
    prefix = "internal-" if scheme == "internal" else ""
    return f"{prefix}{name}-{digits}.{region}.elb.amazonaws.com".lower()
