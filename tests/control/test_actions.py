"""The pure rule-action checks: weights, fixed responses, listener/target-group protocol fit, and the final-state
priority check BatchUpdateRule relies on."""

from __future__ import annotations

from typing import Any

import pytest

from latticework.control.backend._actions import (
    fixed_response_problem,
    protocol_problem,
    target_group_ids,
    unsettled_priorities,
    weighted,
)
from latticework.control.errors import ValidationException


def test_a_sole_target_group_without_weight_gets_100() -> None:
    assert weighted([{"targetGroupIdentifier": "tg-1"}], "action") == [{"targetGroupIdentifier": "tg-1", "weight": 100}]


def test_given_weights_are_kept_including_zero() -> None:
    groups = [{"targetGroupIdentifier": "tg-1", "weight": 0}, {"targetGroupIdentifier": "tg-2", "weight": 999}]
    assert weighted(groups, "action") == groups


def test_several_target_groups_each_need_a_weight() -> None:
    groups = [{"targetGroupIdentifier": "tg-1", "weight": 5}, {"targetGroupIdentifier": "tg-2"}]
    with pytest.raises(ValidationException) as caught:
        weighted(groups, "defaultAction")
    assert caught.value.extra["fieldList"][0]["name"] == "defaultAction.forward.targetGroups.1.weight"


@pytest.mark.parametrize(("code", "accepted"), [(404, True), (500, True), (200, False), (503, False), (403, False)])
def test_only_404_and_500_fixed_responses_are_accepted(code: int, accepted: bool) -> None:
    problem = fixed_response_problem(code)
    assert (problem is None) is accepted
    if problem:
        assert "only 404 and 500" in problem


def _tg(protocol: str | None, version: str | None = None, type_: str = "IP") -> dict[str, Any]:
    config = {} if protocol is None else {"protocol": protocol, **({"protocolVersion": version} if version else {})}
    return {"id": "tg-0123456789abcdef0", "type": type_, "config": config}


@pytest.mark.parametrize(
    ("listener", "target_group", "fits"),
    [
        ("HTTP", _tg("HTTP"), True),
        ("HTTP", _tg("HTTPS"), True),
        ("HTTPS", _tg("HTTP"), True),
        ("HTTP", _tg("HTTP", "HTTP2"), False),
        ("HTTP", _tg("HTTPS", "GRPC"), False),
        ("HTTPS", _tg("HTTP", "HTTP2"), True),
        ("HTTPS", _tg("HTTPS", "GRPC"), True),
        ("HTTP", _tg("TCP"), False),
        ("HTTPS", _tg("TCP"), False),
        ("TLS_PASSTHROUGH", _tg("TCP"), True),
        ("TLS_PASSTHROUGH", _tg("HTTPS"), False),
        ("TLS_PASSTHROUGH", _tg(None, type_="LAMBDA"), False),
        ("HTTP", _tg(None, type_="LAMBDA"), True),
    ],
)
def test_listener_protocol_and_target_group_fit(listener: str, target_group: dict[str, Any], fits: bool) -> None:
    assert (protocol_problem(listener, target_group) is None) is fits


def test_target_group_ids_of_forward_and_fixed_response_actions() -> None:
    forward = {"forward": {"targetGroups": [{"targetGroupIdentifier": "tg-a"}, {"targetGroupIdentifier": "tg-b"}]}}
    assert target_group_ids(forward) == ["tg-a", "tg-b"]
    assert target_group_ids({"fixedResponse": {"statusCode": 404}}) == []
    assert target_group_ids(None) == []


@pytest.mark.parametrize(
    ("current", "proposed", "refused"),
    [
        # swapping two priorities is fine: only the final state counts
        ({"a": 1, "b": 2}, {"a": 2, "b": 1}, set()),
        # a three-way rotation too
        ({"a": 1, "b": 2, "c": 3}, {"a": 2, "b": 3, "c": 1}, set()),
        # moving onto a rule that stays put is refused
        ({"a": 1, "b": 2}, {"a": 2}, {"a"}),
        # two rules moving to the same free priority: both refused
        ({"a": 1, "b": 2, "c": 3}, {"a": 9, "b": 9}, {"a", "b"}),
        # refusing one move can refuse the move into its old place
        ({"a": 1, "b": 2, "c": 3}, {"a": 3, "b": 1, "c": 2}, set()),
        ({"a": 1, "b": 2, "c": 5}, {"a": 5, "b": 1}, {"a", "b"}),
        # re-stating the current priority is not a change and never refused
        ({"a": 1, "b": 2}, {"a": 1, "b": 1}, {"b"}),
        # the default rule has no priority and never clashes
        ({"a": 1, "default": None}, {"a": 4}, set()),
    ],
)
def test_unsettled_priorities_judge_the_final_state(
    current: dict[str, int | None], proposed: dict[str, int], refused: set[str]
) -> None:
    assert unsettled_priorities(current, proposed) == refused
