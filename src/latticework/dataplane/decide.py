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
from typing import NamedTuple

from latticework.dataplane._fastpath import remember
from latticework.dataplane.access import OPEN, Access, check_access, identity_headers
from latticework.dataplane.routing import (
    FixedResponse,
    Forward,
    Rule,
    choose_group,
    round_robin_candidates,
    select_rule,
)
from latticework.dataplane.snapshot import ListenerView, ServiceView, Snapshot, TargetGroupView, TargetView, VpcView

__all__ = [
    "Decision",
    "FixedReply",
    "Forwarding",
    "Refusal",
    "RequestHead",
    "decide",
    "forwardable",
    "lattice_route_headers",
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


class RequestHead(NamedTuple):
    """One request as the decision core sees it (a NamedTuple: built once per request, 4x cheaper than a frozen
    dataclass)."""

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
_MISSING = object()
_MAX_MEMO = 8192  # remembered rule choices and routes per snapshot; keys are tagged "rule", "route", "targets"

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
    rule = _rule(snapshot, listener, head)
    if rule is None:
        return Refusal(404, "No rule matched", service=service, access=access)
    if isinstance(rule.action, FixedResponse):
        return FixedReply(rule.action.status, service, listener, access)
    return _forward(snapshot, service, listener, rule.action, vpc, access, healthy, draw, counter)


def _rule(snapshot: Snapshot, listener: ListenerView, head: RequestHead) -> Rule | None:
    """`select_rule`, remembered per snapshot by what the listener's rules look at: the method, the path and
    the values of the headers they name. A repeated request skips the walk; the memo dies with the snapshot."""
    names = listener.rule_headers
    key: tuple[str | None, ...] = ("rule", listener.arn, head.method, head.path)
    if names:
        key += tuple(map(head.headers.get, names))
    memo = snapshot.memo
    found = memo.get(key, _MISSING)
    if found is _MISSING:
        found = select_rule(listener.rules, head.method, head.path, head.headers)
        remember(memo, key, found, _MAX_MEMO)
    return found  # type: ignore[return-value]


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
    candidates = _candidates(snapshot.memo, group, healthy(group))
    if not candidates:
        return Refusal(500, "No targets registered", "TargetConnectionError", service, access)
    target = candidates[counter(group.id) % len(candidates)]
    network_arn = vpc.network_arn or ""
    if access is not OPEN:
        return Forwarding(service, listener, group, target, network_arn, access)
    # Without an identity a forwarding is a function of where it goes: one object per route, not per request.
    key = ("route", listener.arn, group.id, target.key, network_arn)
    memo = snapshot.memo
    forwarding = memo.get(key)
    if forwarding is None:
        forwarding = Forwarding(service, listener, group, target, network_arn, OPEN)
        remember(memo, key, forwarding, _MAX_MEMO)
    return forwarding  # type: ignore[return-value]


def _candidates(memo: dict[object, object], group: TargetGroupView, healthy: frozenset[str]) -> tuple[TargetView, ...]:
    """The targets round robin walks (`choose_target`): the healthy ones that are not DRAINING, or all that
    are not DRAINING when none is healthy (fail-open). Remembered per group and health view."""
    key = ("targets", group.id)
    seen = memo.get(key)
    if seen is not None and seen[0] is healthy:  # type: ignore[index]
        return seen[1]  # type: ignore[index, no-any-return]
    serving = [t for t in group.targets if t.status != "DRAINING"]
    walked = set(round_robin_candidates([t.key for t in serving], healthy))
    found = tuple(t for t in serving if t.key in walked)
    remember(memo, key, (healthy, found), _MAX_MEMO)
    return found


def upstream_headers(
    head: RequestHead,
    forwarding: Forwarding,
    vpc: VpcView,
    client_ip: str,
    request_id: str,
) -> list[tuple[str, str]]:
    """The request headers the target receives: the caller's, minus any it may not set, plus Lattice's
    (Lattice UG "HTTP targets"; values as observed in reference 2.4). `heads.target_request_head` writes the
    same fields from remembered pieces."""
    kept = [(name, value) for name, value in head.headers.items() if forwardable(name)]
    return [
        *kept,
        ("x-forwarded-for", client_ip),
        *lattice_route_headers(head, forwarding, vpc),
        ("x-amzn-requestid", request_id),
        *identity_headers(forwarding.access),
    ]


def forwardable(name: str) -> bool:
    """Whether a caller's header (lower-case name) may reach the target: not one Lattice sets."""
    return name not in _SET_BY_LATTICE and not name.startswith("x-amzn-lattice-")


def lattice_route_headers(head: RequestHead, forwarding: Forwarding, vpc: VpcView) -> list[tuple[str, str]]:
    """The fields Lattice adds that depend only on the route: listener port and scheme, source VPC, service,
    network and target group."""
    return [
        ("x-forwarded-port", str(head.port)),
        ("x-forwarded-proto", head.scheme),
        ("x-amzn-lattice-network", f"SourceVpcArn={vpc.arn}"),
        (
            "x-amzn-lattice-target",
            f"ServiceArn={forwarding.service.arn}; ServiceNetworkArn={forwarding.network_arn}; "
            f"TargetGroupArn={forwarding.target_group.arn}",
        ),
        ("x-amzn-source-vpc", vpc.id),
    ]
