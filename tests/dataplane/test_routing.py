"""Table tests for the pure routing core: rule matching, rule order, weighted choice, round robin, fail-open."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from latticework.dataplane.routing import (
    FixedResponse,
    Forward,
    WeightedGroup,
    choose_group,
    choose_target,
    compile_rule,
    select_rule,
    sort_rules,
)


def _rule(rule_id: str, priority: int | None, http: dict[str, Any] | None, status: int = 404) -> Any:
    doc: dict[str, Any] = {"id": rule_id, "action": {"fixedResponse": {"statusCode": status}}}
    if priority is None:
        doc["isDefault"] = True
    else:
        doc["priority"] = priority
        doc["match"] = {"httpMatch": http or {}}
    return compile_rule(doc)


RULES = sort_rules(
    [
        _rule("default", None, None, 404),
        _rule("orders-exact", 5, {"pathMatch": {"match": {"exact": "/orders"}, "caseSensitive": True}}),
        _rule("api-prefix", 10, {"pathMatch": {"match": {"prefix": "/api"}}}),
        _rule("post-only", 20, {"method": "POST"}),
        _rule(
            "beta-header",
            30,
            {"headerMatches": [{"name": "X-Channel", "match": {"prefix": "beta"}}]},
        ),
        _rule(
            "both-headers",
            40,
            {
                "headerMatches": [
                    {"name": "x-a", "match": {"exact": "One"}, "caseSensitive": True},
                    {"name": "x-b", "match": {"contains": "mid"}},
                ]
            },
        ),
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        ("GET", "/orders", {}, "orders-exact"),
        ("GET", "/ORDERS", {}, "default"),  # exact + caseSensitive
        ("GET", "/orders/1", {}, "default"),  # exact is not a prefix
        ("GET", "/API/v1", {}, "api-prefix"),  # prefix defaults to case-insensitive
        ("GET", "/apis", {}, "api-prefix"),  # plain string prefix, not segment-aware
        ("POST", "/x", {}, "post-only"),
        ("post", "/x", {}, "default"),  # method match is case-sensitive and exact
        ("GET", "/x", {"x-channel": "BETA-2"}, "beta-header"),
        ("GET", "/x", {"x-channel": "alpha"}, "default"),
        ("GET", "/x", {"x-a": "One", "x-b": "a MID b"}, "both-headers"),
        ("GET", "/x", {"x-a": "one", "x-b": "a mid b"}, "default"),  # x-a is case-sensitive
        ("GET", "/x", {"x-a": "One"}, "default"),  # every header condition must hold
        ("POST", "/api", {}, "api-prefix"),  # lower priority number wins
    ],
)
def test_first_matching_rule_in_priority_order(method: str, path: str, headers: dict[str, str], expected: str) -> None:
    rule = select_rule(RULES, method, path, headers)
    assert rule is not None and rule.id == expected


def test_default_rule_sorts_last_whatever_the_input_order() -> None:
    assert [r.id for r in RULES][-1] == "default"
    assert [r.priority for r in RULES[:-1]] == sorted(r.priority or 0 for r in RULES[:-1])


def test_forward_without_weight_takes_all_traffic() -> None:
    rule = compile_rule(
        {"isDefault": True, "action": {"forward": {"targetGroups": [{"targetGroupIdentifier": "tg-a"}]}}}
    )
    assert isinstance(rule.action, Forward) and rule.action.groups == (WeightedGroup("tg-a", 100),)


def test_fixed_response_compiles_to_its_status() -> None:
    assert _rule("d", None, None, 500).action == FixedResponse(500)


@pytest.mark.parametrize(
    ("weights", "draw", "expected"),
    [
        ((80, 20), 0.0, "tg-0"),
        ((80, 20), 0.79, "tg-0"),
        ((80, 20), 0.80, "tg-1"),
        ((80, 20), 0.999, "tg-1"),
        ((0, 5), 0.0, "tg-1"),
        ((5, 0), 0.999, "tg-0"),
        ((0, 0), 0.5, None),
    ],
)
def test_weighted_choice(weights: tuple[int, ...], draw: float, expected: str | None) -> None:
    forward = Forward(tuple(WeightedGroup(f"tg-{i}", w) for i, w in enumerate(weights)))
    assert choose_group(forward, draw) == expected


@given(st.lists(st.integers(0, 999), min_size=1, max_size=10), st.floats(0, 1, exclude_max=True))
def test_weighted_choice_never_picks_a_zero_weight_group(weights: list[int], draw: float) -> None:
    forward = Forward(tuple(WeightedGroup(f"tg-{i}", w) for i, w in enumerate(weights)))
    chosen = choose_group(forward, draw)
    if sum(weights) == 0:
        assert chosen is None
    else:
        assert chosen is not None and weights[int(chosen[3:])] > 0


def test_weights_split_proportionally_over_even_draws() -> None:
    forward = Forward((WeightedGroup("blue", 80), WeightedGroup("green", 20)))
    counts = Counter(choose_group(forward, i / 1000) for i in range(1000))
    assert counts == {"blue": 800, "green": 200}


@pytest.mark.parametrize(
    ("healthy", "expected"),
    [
        (frozenset({"a", "c"}), ["a", "c", "a", "c"]),
        (frozenset({"b"}), ["b", "b", "b", "b"]),
        (frozenset(), ["a", "b", "c", "a"]),  # fail-open: every target when none is healthy
    ],
)
def test_round_robin_over_healthy_targets_with_fail_open(healthy: frozenset[str], expected: list[str]) -> None:
    assert [choose_target(["a", "b", "c"], healthy, n) for n in range(4)] == expected


def test_no_targets_means_no_choice() -> None:
    assert choose_target([], frozenset(), 0) is None
