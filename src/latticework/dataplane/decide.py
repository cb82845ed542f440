"""The decision core: one request head, the VPC it arrived from and a config snapshot in; what to do out.

host -> service reachable from this VPC (else 404 Non Existent Service) -> listener by port -> access
(SigV4 and auth policies when AWS_IAM is on; `access`) -> rule -> action (fixed response, or forward: weighted
target group, then round robin over healthy targets, fail-open) -> the headers the target gets. Pure: the
random draw, the round-robin counter, the health view and the time (in the head) are passed in; the relay does
the I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from latticework.dataplane.access import OPEN, Access, check_access, identity_headers
from latticework.dataplane.routing import FixedResponse, Forward, choose_group, choose_target, select_rule
from latticework.dataplane.snapshot import ListenerView, ServiceView, Snapshot, TargetGroupView, TargetView, VpcView

__all__ = [
    "Decision",
    "FixedReply",
    "Forwarding",
    "Refusal",
    "RequestHead",
    "decide",
    "upstream_headers",
]

# Headers Lattice sets for targets; inbound copies are stripped so a caller can never spoof them
# (Lattice UG "HTTP targets": "VPC Lattice strips these headers from any incoming requests").
_SET_BY_LATTICE = frozenset(
    {
        "x-forwarded-for",
        "x-forwarded-port",
        "x-forwarded-proto",
        "x-amzn-source-vpc",
        "x-amzn-requestid",
    }
)


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: str
    path: str  # as sent (still percent-encoded), without the query string
    host: str  # lower-case, without the port
    port: int  # the listener port the request is for
    scheme: str  # "http" or "https" (TLS terminated by us)
    headers: Mapping[str, str]  # lower-case names; repeated headers joined with ", "
    query: str = ""  # the raw query string as sent, without "?"
    header_list: tuple[tuple[str, str], ...] = ()  # (lower-case name, value) in arrival order, repeats kept
    source_ip: str = ""  # the caller's address (aws:SourceIp)
    received_at: float = 0.0  # wall-clock seconds when the head arrived (SigV4 clock-skew and expiry checks)


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    message: str
    failure_reason: str | None = None
    service: ServiceView | None = None
    access: Access = OPEN


@dataclass(frozen=True, slots=True)
class FixedReply:
    status: int
    service: ServiceView
    listener: ListenerView
    access: Access = OPEN


@dataclass(frozen=True, slots=True)
class Forwarding:
    service: ServiceView
    listener: ListenerView
    target_group: TargetGroupView
    target: TargetView
    network_arn: str
    access: Access = OPEN


Decision = Refusal | FixedReply | Forwarding

HealthyTargets = Callable[[TargetGroupView], frozenset[str]]  # target keys ("id:port") that are healthy now


def decide(
    snapshot: Snapshot,
    vpc: VpcView | None,
    head: RequestHead,
    healthy: HealthyTargets,
    draw: float,
    counter: Callable[[str], int],
) -> Decision:
    """What to do with a request. `draw` is uniform in [0, 1) for the weighted choice; `counter(tg_id)` gives
    the next round-robin number for a target group."""
    service = snapshot.service_for(head.host, vpc.network_arn if vpc else None)
    if service is None or vpc is None:
        # Access-log troubleshooting table: "HTTP 404: Non Existent Service".
        return Refusal(404, "Non Existent Service")
    listener = service.listeners.get(head.port)
    if listener is None or (listener.protocol == "HTTPS") != (head.scheme == "https"):
        return Refusal(404, "Non Existent Service", service=service)
    access = check_access(snapshot, service, vpc, head, head.source_ip, head.received_at)
    if not access.allowed:
        return Refusal(access.status, access.message, None, service, access)
    rule = select_rule(listener.rules, head.method, head.path, head.headers)
    if rule is None:
        return Refusal(404, "No rule matched", service=service, access=access)
    if isinstance(rule.action, FixedResponse):
        return FixedReply(rule.action.status, service, listener, access)
    return _forward(snapshot, service, listener, rule.action, vpc, access, healthy, draw, counter)


def _forward(
    snapshot: Snapshot,
    service: ServiceView,
    listener: ListenerView,
    forward: Forward,
    vpc: VpcView,
    access: Access,
    healthy: HealthyTargets,
    draw: float,
    counter: Callable[[str], int],
) -> Decision:
    group_id = choose_group(forward, draw)
    group = snapshot.target_groups.get(group_id or "")
    if group is None:
        return Refusal(500, "No target group to forward to", "TargetConnectionError", service, access)
    serving = [t for t in group.targets if t.status != "DRAINING"]
    key = choose_target([t.key for t in serving], healthy(group), counter(group.id))
    if key is None:
        return Refusal(500, "No targets registered", "TargetConnectionError", service, access)
    target = next(t for t in serving if t.key == key)
    return Forwarding(service, listener, group, target, vpc.network_arn or "", access)


def upstream_headers(
    head: RequestHead,
    forwarding: Forwarding,
    vpc: VpcView,
    client_ip: str,
    request_id: str,
) -> list[tuple[str, str]]:
    """The request headers the target receives: the caller's, minus any it may not set, plus Lattice's
    (Lattice UG "HTTP targets"; values as observed in reference 2.4)."""
    kept = [
        (name, value)
        for name, value in head.headers.items()
        if name not in _SET_BY_LATTICE and not name.startswith("x-amzn-lattice-")
    ]
    return [
        *kept,
        ("x-forwarded-for", client_ip),
        ("x-forwarded-port", str(head.port)),
        ("x-forwarded-proto", head.scheme),
        ("x-amzn-lattice-network", f"SourceVpcArn={vpc.arn}"),
        (
            "x-amzn-lattice-target",
            f"ServiceArn={forwarding.service.arn}; ServiceNetworkArn={forwarding.network_arn}; "
            f"TargetGroupArn={forwarding.target_group.arn}",
        ),
        ("x-amzn-source-vpc", vpc.id),
        ("x-amzn-requestid", request_id),
        *identity_headers(forwarding.access),
    ]
