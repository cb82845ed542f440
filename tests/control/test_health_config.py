"""Health check configuration, pure: matcher parsing, defaults per protocol, merging with resets, and the rules
that tie a check to its target group's protocol."""

from __future__ import annotations

from typing import Any

import pytest

from latticework.control.backend._health_config import (
    checks_enabled_by_default,
    code_matches,
    complete_health_check,
    parse_matcher,
    resolve_health_check,
)
from latticework.control.errors import ValidationException

NUMBER_DEFAULTS = {
    "healthCheckIntervalSeconds": 30,
    "healthCheckTimeoutSeconds": 5,
    "healthyThresholdCount": 5,
    "unhealthyThresholdCount": 2,
}
HTTPS_DEFAULT = {
    "enabled": True,
    "protocol": "HTTPS",
    "protocolVersion": "HTTP1",
    "path": "/",
    "matcher": {"httpCode": "200"},
    **NUMBER_DEFAULTS,
}


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("200", ((200, 200),)),
        ("200,202", ((200, 200), (202, 202))),
        ("200-299", ((200, 299),)),
        ("200,300-399", ((200, 200), (300, 399))),
        ("499", ((499, 499),)),
        ("404-404", ((404, 404),)),
    ],
)
def test_matcher_accepts_codes_lists_and_ranges(text: str, ranges: tuple[tuple[int, int], ...]) -> None:
    assert parse_matcher(text) == ranges


@pytest.mark.parametrize(
    "text",
    ["", "199", "500", "200-500", "299-200", "2000", "20", "200-", "-200", "200,,202", " 200", "abc", "200;202"],
)
def test_matcher_rejects_malformed_or_out_of_range_codes(text: str) -> None:
    with pytest.raises(ValueError, match="matcher"):
        parse_matcher(text)


@pytest.mark.parametrize(("status", "expected"), [(199, False), (200, True), (204, True), (299, True), (300, False)])
def test_code_matches_inclusive_ranges(status: int, expected: bool) -> None:
    assert code_matches(((200, 204), (299, 299)), status) is expected


@pytest.mark.parametrize(
    ("protocol", "version", "enabled"),
    [
        ("HTTP", "HTTP1", True),
        ("HTTPS", "HTTP1", True),
        ("HTTP", "HTTP2", False),
        ("HTTPS", "GRPC", False),
        ("TCP", None, False),
    ],
)
def test_checks_enabled_by_default_only_for_http1(protocol: str, version: str | None, enabled: bool) -> None:
    assert checks_enabled_by_default(protocol, version) is enabled


@pytest.mark.parametrize(
    ("protocol", "version", "expected"),
    [
        ("HTTPS", "HTTP1", HTTPS_DEFAULT),
        ("HTTP", "HTTP1", {**HTTPS_DEFAULT, "protocol": "HTTP"}),
        ("HTTP", "HTTP2", {**HTTPS_DEFAULT, "protocol": "HTTP", "protocolVersion": "HTTP2", "enabled": False}),
        ("HTTPS", "GRPC", {k: v for k, v in HTTPS_DEFAULT.items() if k != "protocolVersion"} | {"enabled": False}),
        ("TCP", None, {"enabled": False, **NUMBER_DEFAULTS}),
    ],
)
def test_defaults_follow_the_target_group(protocol: str, version: str | None, expected: dict[str, Any]) -> None:
    assert complete_health_check({}, protocol, version) == expected


def test_create_with_nothing_given_is_the_cli_example_default() -> None:
    """The create-target-group CLI example for an HTTPS/HTTP1 group shows exactly these members (no port)."""
    assert resolve_health_check({}, {}, "HTTPS", "HTTP1", "config.healthCheck") == HTTPS_DEFAULT


CURRENT = {
    **HTTPS_DEFAULT,
    "healthCheckIntervalSeconds": 120,
    "healthyThresholdCount": 3,
    "unhealthyThresholdCount": 4,
    "port": 9000,
    "path": "/ping",
    "matcher": {"httpCode": "204"},
}


@pytest.mark.parametrize(
    ("given", "changes", "removed"),
    [
        ({"healthCheckIntervalSeconds": 60}, {"healthCheckIntervalSeconds": 60}, []),
        ({"healthCheckIntervalSeconds": 0}, {"healthCheckIntervalSeconds": 30}, []),
        (
            {"healthyThresholdCount": 0, "unhealthyThresholdCount": 0},
            {"healthyThresholdCount": 5, "unhealthyThresholdCount": 2},
            [],
        ),
        ({"port": 0}, {}, ["port"]),
        ({"path": ""}, {"path": "/"}, []),
        ({"matcher": {"httpCode": ""}}, {"matcher": {"httpCode": "200"}}, []),
        ({"path": "/healthz?deep=1"}, {"path": "/healthz?deep=1"}, []),
        ({"matcher": {"httpCode": "200-299"}}, {"matcher": {"httpCode": "200-299"}}, []),
        ({"enabled": False}, {"enabled": False}, []),
        ({"protocol": "HTTP", "protocolVersion": "HTTP2"}, {"protocol": "HTTP", "protocolVersion": "HTTP2"}, []),
        ({"port": 8443, "healthCheckTimeoutSeconds": None}, {"port": 8443}, []),
        ({}, {}, []),
    ],
)
def test_update_merges_over_current_and_zero_resets(
    given: dict[str, Any], changes: dict[str, Any], removed: list[str]
) -> None:
    expected = {k: v for k, v in {**CURRENT, **changes}.items() if k not in removed}
    assert resolve_health_check(CURRENT, given, "HTTPS", "HTTP1", "healthCheck") == expected


@pytest.mark.parametrize(
    ("given", "fields"),
    [
        ({"healthCheckIntervalSeconds": 4}, ["healthCheck.healthCheckIntervalSeconds"]),
        (
            {"healthCheckTimeoutSeconds": 121, "healthCheckIntervalSeconds": 301},
            ["healthCheck.healthCheckIntervalSeconds", "healthCheck.healthCheckTimeoutSeconds"],
        ),
        (
            {"healthyThresholdCount": 1, "unhealthyThresholdCount": 11},
            ["healthCheck.healthyThresholdCount", "healthCheck.unhealthyThresholdCount"],
        ),
        ({"matcher": {"httpCode": "600"}}, ["healthCheck.matcher.httpCode"]),
        ({"protocol": "TCP"}, ["healthCheck.protocol"]),
    ],
)
def test_invalid_values_name_every_offending_member(given: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(ValidationException) as exc:
        resolve_health_check({}, given, "HTTP", "HTTP1", "healthCheck")
    assert [f["name"] for f in exc.value.extra["fieldList"]] == fields


def test_grpc_group_must_name_the_check_protocol_version_when_enabling() -> None:
    with pytest.raises(ValidationException) as exc:
        resolve_health_check({}, {"enabled": True}, "HTTPS", "GRPC", "config.healthCheck")
    assert [f["name"] for f in exc.value.extra["fieldList"]] == ["config.healthCheck.protocolVersion"]
    enabled = resolve_health_check({}, {"enabled": True, "protocolVersion": "HTTP2"}, "HTTPS", "GRPC", "x")
    assert enabled["protocolVersion"] == "HTTP2" and enabled["enabled"] is True


def test_tcp_group_must_name_a_check_protocol_when_enabling() -> None:
    with pytest.raises(ValidationException) as exc:
        resolve_health_check({}, {"enabled": True}, "TCP", None, "config.healthCheck")
    assert [f["name"] for f in exc.value.extra["fieldList"]] == ["config.healthCheck.protocol"]
    with pytest.raises(ValidationException) as exc:
        resolve_health_check({}, {"enabled": True, "protocol": "HTTP"}, "TCP", None, "config.healthCheck")
    assert [f["name"] for f in exc.value.extra["fieldList"]] == ["config.healthCheck.protocolVersion"]


def test_tcp_group_http_check_gets_http_defaults() -> None:
    given = {"enabled": True, "protocol": "HTTP", "protocolVersion": "HTTP1"}
    assert resolve_health_check({}, given, "TCP", None, "x") == {
        **HTTPS_DEFAULT,
        "protocol": "HTTP",
    }


def test_tcp_check_has_no_path_matcher_or_version() -> None:
    current = complete_health_check({"enabled": True, "protocol": "HTTP", "protocolVersion": "HTTP1"}, "TCP", None)
    switched = resolve_health_check(current, {"protocol": "TCP"}, "TCP", None, "healthCheck")
    assert switched == {"enabled": True, "protocol": "TCP", **NUMBER_DEFAULTS}


def test_tcp_check_rejects_path_and_matcher() -> None:
    given = {"enabled": True, "protocol": "TCP", "path": "/x", "matcher": {"httpCode": "200"}}
    with pytest.raises(ValidationException) as exc:
        resolve_health_check({}, given, "TCP", None, "config.healthCheck")
    assert [f["name"] for f in exc.value.extra["fieldList"]] == [
        "config.healthCheck.path",
        "config.healthCheck.matcher",
    ]


def test_disabled_checks_need_nothing_more() -> None:
    assert resolve_health_check({}, {"enabled": False}, "HTTPS", "GRPC", "x")["enabled"] is False
