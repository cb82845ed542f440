"""decide: the decision core's outcomes, as tables; and its per-snapshot memo (rule choices, round-robin
candidates, routes) never changes one."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latticework.dataplane.decide import FixedReply, Forwarding, Refusal, RequestHead, decide
from latticework.dataplane.routing import compile_rule, sort_rules
from latticework.dataplane.snapshot import ListenerView, ServiceView, Snapshot, TargetGroupView, TargetView, VpcView

NETWORK = "arn:aws:vpc-lattice:us-west-2:111122223333:servicenetwork/sn-1"
HOST = "orders.example.com"


def _rule(priority: int | None, match: dict[str, object] | None, action: dict[str, object]) -> object:
    doc: dict[str, object] = {"id": f"r{priority}", "action": action}
    if priority is None:
        doc["isDefault"] = True
    else:
        doc |= {"priority": priority, "match": {"httpMatch": match}}
    return compile_rule(doc)


FORWARD = {
    "forward": {
        "targetGroups": [
            {"targetGroupIdentifier": "tg-a", "weight": 80},
            {"targetGroupIdentifier": "tg-b", "weight": 20},
        ]
    }
}
RULES = sort_rules(
    [
        _rule(None, None, {"fixedResponse": {"statusCode": 404}}),
        _rule(
            10,
            {"pathMatch": {"match": {"prefix": "/api"}, "caseSensitive": True}},
            {"fixedResponse": {"statusCode": 500}},
        ),
        _rule(20, {"headerMatches": [{"name": "X-Channel", "match": {"exact": "beta"}}]}, FORWARD),
        _rule(30, {"method": "POST", "pathMatch": {"match": {"exact": "/orders"}}}, FORWARD),
    ]  # type: ignore[list-item]
)
LISTENER = ListenerView("l-1", "arn:l-1", "HTTP", 80, RULES, ("x-channel",))
SERVICE = ServiceView(
    "svc-1",
    "arn:svc-1",
    "orders",
    "111122223333",
    "us-west-2",
    HOST,
    None,
    None,
    "NONE",
    60,
    MappingProxyType({80: LISTENER}),
    frozenset({NETWORK}),
)


def _group(name: str, statuses: tuple[str, ...]) -> TargetGroupView:
    targets = tuple(TargetView(f"10.0.0.{i}", 8080, status) for i, status in enumerate(statuses, 1))
    return TargetGroupView(name, f"arn:{name}", "IP", "HTTP", "HTTP1", 8080, {}, "V2", targets)


GROUPS = {"tg-a": _group("tg-a", ("HEALTHY", "HEALTHY", "DRAINING")), "tg-b": _group("tg-b", ("UNHEALTHY",))}
VPC = VpcView("vpc-1", "arn:vpc-1", "111122223333", NETWORK)
OTHER_VPC = VpcView("vpc-2", "arn:vpc-2", "111122223333", "arn:other-network")


def _snapshot() -> Snapshot:
    return Snapshot(
        1,
        MappingProxyType({HOST: (SERVICE,)}),
        MappingProxyType(GROUPS),
        MappingProxyType({"vpc-1": VPC, "vpc-2": OTHER_VPC}),
        MappingProxyType({NETWORK: "NONE"}),
    )


def _head(method: str = "GET", path: str = "/", headers: dict[str, str] | None = None, port: int = 80) -> RequestHead:
    return RequestHead(method, path, HOST, port, "http", headers or {})


def _all_healthy(group: TargetGroupView) -> frozenset[str]:
    return frozenset(t.key for t in group.targets if t.status == "HEALTHY")


def _outcome(decision: object) -> tuple[object, ...]:
    if isinstance(decision, Forwarding):
        return ("forward", decision.target_group.id, decision.target.key)
    if isinstance(decision, FixedReply):
        return ("fixed", decision.status)
    assert isinstance(decision, Refusal)
    return ("refused", decision.status, decision.message)


@pytest.mark.parametrize(
    ("vpc", "head", "draw", "expected"),
    [
        (VPC, _head(path="/api/x"), 0.0, ("fixed", 500)),
        (VPC, _head(path="/API/x"), 0.0, ("fixed", 404)),  # case-sensitive prefix: falls to the default rule
        (VPC, _head(headers={"x-channel": "BETA"}), 0.0, ("forward", "tg-a", "10.0.0.1:8080")),
        (VPC, _head(headers={"x-channel": "beta"}), 0.9, ("forward", "tg-b", "10.0.0.1:8080")),  # fail-open
        (VPC, _head("POST", "/orders"), 0.5, ("forward", "tg-a", "10.0.0.1:8080")),
        (VPC, _head("post", "/orders"), 0.5, ("fixed", 404)),  # methods match case-sensitively
        (VPC, _head(port=443), 0.0, ("refused", 404, "Non Existent Service")),
        (OTHER_VPC, _head(), 0.0, ("refused", 404, "Non Existent Service")),
        (None, _head(), 0.0, ("refused", 404, "Non Existent Service")),
    ],
)
def test_what_a_request_gets(vpc: VpcView | None, head: RequestHead, draw: float, expected: tuple[object, ...]) -> None:
    assert _outcome(decide(_snapshot(), vpc, head, _all_healthy, draw, lambda group: 0)) == expected


def test_round_robin_skips_draining_targets_and_follows_health_changes() -> None:
    """The memo of candidates is per health view: a new view (the checker swaps its frozenset) is seen at once."""
    snapshot, head = _snapshot(), _head(headers={"x-channel": "beta"})
    picks = [decide(snapshot, VPC, head, _all_healthy, 0.0, lambda g, n=n: n) for n in range(4)]
    assert [_outcome(p)[2] for p in picks] == ["10.0.0.1:8080", "10.0.0.2:8080"] * 2
    only_second = frozenset({"10.0.0.2:8080"})
    later = decide(snapshot, VPC, head, lambda group: only_second, 0.0, lambda g: 0)
    assert _outcome(later)[2] == "10.0.0.2:8080"
    assert decide(snapshot, VPC, head, lambda group: frozenset(), 0.0, lambda g: 2)  # none healthy: all but DRAINING


_REQUESTS = st.tuples(
    st.sampled_from(["GET", "POST", "post"]),
    st.sampled_from(["/", "/orders", "/api", "/API/v1", "/orders/7"]),
    st.sampled_from([{}, {"x-channel": "beta"}, {"x-channel": "Beta"}, {"x-channel": "gamma"}]),
    st.floats(0, 0.999),
    st.integers(0, 5),
    st.sampled_from([frozenset(), frozenset({"10.0.0.2:8080"}), frozenset({"10.0.0.1:8080", "10.0.0.2:8080"})]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_REQUESTS, min_size=1, max_size=30))
def test_the_memo_never_changes_an_outcome(
    requests: list[tuple[str, str, dict[str, str], float, int, frozenset[str]]],
) -> None:
    """A sequence of requests on one snapshot (the memo fills) decides as each would on a fresh snapshot."""
    shared = _snapshot()
    for method, path, headers, draw, count, healthy in requests:
        head = _head(method, path, headers)

        def health(group: TargetGroupView, healthy: frozenset[str] = healthy) -> frozenset[str]:
            return healthy

        def counter(group: str, count: int = count) -> int:
            return count

        remembered = decide(shared, VPC, head, health, draw, counter)
        fresh = decide(replace(shared, memo={}), VPC, head, health, draw, counter)
        assert _outcome(remembered) == _outcome(fresh)
