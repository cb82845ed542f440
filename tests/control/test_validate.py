"""Table tests for the model-driven validator."""

from __future__ import annotations

from typing import Any

import pytest

from latticework.control.api.model import service_model
from latticework.control.api.validate import validate

MODEL = service_model("vpc-lattice")


def _input(operation: str) -> Any:
    return MODEL.operation_model(operation).input_shape


@pytest.mark.parametrize(
    ("operation", "params", "expected_paths"),
    [
        ("CreateService", {"name": "ok-name"}, []),
        ("CreateService", {}, ["name"]),
        ("CreateService", {"name": "Bad_Name"}, ["name"]),
        ("CreateService", {"name": "svc-reserved"}, ["name"]),
        ("CreateService", {"name": "ab"}, ["name"]),
        ("CreateService", {"name": "a--b"}, ["name"]),
        ("CreateService", {"name": "ends-"}, ["name"]),
        ("CreateService", {"name": "fine", "authType": "SOMETIMES"}, ["authType"]),
        ("CreateService", {"name": 7}, ["name"]),
        ("CreateService", {"name": "fine", "tags": {"k": "v" * 257}}, ["tags.k"]),
        ("GetService", {"serviceIdentifier": "svc-0123456789abcdef0"}, []),
        ("GetService", {"serviceIdentifier": "svc-nope"}, ["serviceIdentifier", "serviceIdentifier"]),
        (
            "GetService",
            {"serviceIdentifier": "arn:aws:vpc-lattice:us-west-2:000000000000:service/svc-0123456789abcdef0"},
            [],
        ),
        (
            "CreateRule",
            {
                "serviceIdentifier": "svc-0123456789abcdef0",
                "listenerIdentifier": "listener-0123456789abcdef0",
                "name": "r-one",
                "priority": 2001,
                "match": {"httpMatch": {"method": "GET"}},
                "action": {"fixedResponse": {"statusCode": 404}},
            },
            ["priority"],
        ),
        (
            "CreateRule",
            {
                "serviceIdentifier": "svc-0123456789abcdef0",
                "listenerIdentifier": "listener-0123456789abcdef0",
                "name": "r-one",
                "priority": 1,
                "match": {"httpMatch": {}},
                "action": {"fixedResponse": {"statusCode": 404}, "forward": {"targetGroups": []}},
            },
            ["action", "action.forward.targetGroups"],
        ),
        ("ListServices", {"maxResults": 0}, ["maxResults"]),
        ("ListServices", {"maxResults": True}, ["maxResults"]),
    ],
)
def test_validation_reports_each_offending_member(
    operation: str, params: dict[str, Any], expected_paths: list[str]
) -> None:
    assert sorted(e.name for e in validate(params, _input(operation))) == sorted(expected_paths)


def test_messages_name_the_value_and_the_constraint() -> None:
    [error] = validate({"name": "Bad_Name"}, _input("CreateService"))
    assert error.message.startswith("Value 'Bad_Name' at 'name' failed to satisfy constraint: Member must satisfy")


def test_patterns_python_cannot_compile_are_not_checked_but_the_rest_is() -> None:
    """ECS's tag key pattern uses Java's \\p{L} classes; a tag passes the pattern but still obeys the lengths."""
    tag = service_model("ecs").shape_for("Tag")
    assert validate({"key": "Name", "value": "checkout"}, tag) == []
    assert [e.name for e in validate({"key": "k" * 129, "value": "v"}, tag)] == ["key"]
