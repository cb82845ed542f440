"""Table tests for the pure health core: the effective check of a target group, the outcome of one check, and
the INITIAL / HEALTHY / UNHEALTHY state machine with AWS's thresholds and reason codes."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from latticework.control.backend._health_config import complete_health_check
from latticework.dataplane.health import (
    CheckConfig,
    CheckError,
    CheckEvent,
    CheckFailed,
    CheckPassed,
    IllegalTransition,
    TargetHealth,
    TargetStatus,
    advance,
    check_config,
    check_outcome,
    checked_targets,
    checks_enabled,
    healthy_from_stored,
    registered_again,
    seed,
)
from latticework.dataplane.snapshot import Snapshot, TargetGroupView, TargetView

INITIAL, HEALTHY, UNHEALTHY = TargetStatus.INITIAL, TargetStatus.HEALTHY, TargetStatus.UNHEALTHY
PASS = CheckPassed()
CODE = CheckFailed("HealthCheckFailed")
SLOW = CheckFailed("Target.Timeout")
REFUSED = CheckFailed("Target.FailedHealthChecks")


def config(healthy: int = 5, unhealthy: int = 2) -> CheckConfig:
    return CheckConfig("HTTP", "HTTP1", None, "/", 30.0, 5.0, healthy, unhealthy, ((200, 200),))


def group(
    check: dict[str, Any] | None = None,
    *,
    kind: str = "IP",
    protocol: str | None = "HTTP",
    version: str = "HTTP1",
    targets: tuple[TargetView, ...] = (),
    group_id: str = "tg-0123456789abcdef0",
    stored: dict[str, Any] | None = None,
) -> TargetGroupView:
    """A target group view whose health check is stored as the control plane stores it (completed)."""
    if stored is None:
        stored = complete_health_check(check or {}, protocol or "HTTP", version) if protocol else {}
    return TargetGroupView(
        id=group_id,
        arn=f"arn:aws:vpc-lattice:us-west-2:111122223333:targetgroup/{group_id}",
        type=kind,
        protocol=protocol,
        protocol_version=version,
        port=80 if protocol else None,
        health_check=MappingProxyType(stored),
        lambda_event_version="V1",
        targets=targets,
    )


def run(events: list[CheckEvent], cfg: CheckConfig, start: TargetHealth | None = None) -> list[TargetHealth]:
    health = start or TargetHealth()
    seen = []
    for event in events:
        health = advance(health, event, cfg)
        seen.append(health)
    return seen


# -- the state machine ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "events", "healthy", "unhealthy", "statuses"),
    [
        # User Guide: a new target must pass one health check to be considered healthy.
        (INITIAL, [PASS], 5, 2, [HEALTHY]),
        (INITIAL, [CODE, PASS], 5, 2, [INITIAL, HEALTHY]),
        # unhealthyThresholdCount consecutive failures: from INITIAL ...
        (INITIAL, [CODE, CODE], 5, 2, [INITIAL, UNHEALTHY]),
        (INITIAL, [CODE, CODE, CODE], 5, 3, [INITIAL, INITIAL, UNHEALTHY]),
        # ... and from HEALTHY; a pass in between restarts the count
        (HEALTHY, [CODE, CODE], 5, 2, [HEALTHY, UNHEALTHY]),
        (HEALTHY, [CODE, PASS, CODE, PASS], 5, 2, [HEALTHY] * 4),
        (HEALTHY, [SLOW, REFUSED, CODE], 5, 3, [HEALTHY, HEALTHY, UNHEALTHY]),
        # healthyThresholdCount consecutive successes bring an UNHEALTHY target back
        (UNHEALTHY, [PASS, PASS], 2, 2, [UNHEALTHY, HEALTHY]),
        (UNHEALTHY, [PASS] * 5, 5, 2, [UNHEALTHY] * 4 + [HEALTHY]),
        (UNHEALTHY, [PASS, CODE, PASS, PASS], 3, 2, [UNHEALTHY] * 4),
        (UNHEALTHY, [CODE, CODE], 2, 2, [UNHEALTHY, UNHEALTHY]),
        # once healthy again, one failure is not enough
        (UNHEALTHY, [PASS, PASS, CODE], 2, 2, [UNHEALTHY, HEALTHY, HEALTHY]),
    ],
)
def test_transitions_follow_the_thresholds(
    start: TargetStatus, events: list[CheckEvent], healthy: int, unhealthy: int, statuses: list[TargetStatus]
) -> None:
    seen = run(events, config(healthy, unhealthy), TargetHealth(start))
    assert [h.status for h in seen] == statuses


@pytest.mark.parametrize(
    ("start", "events", "reasons"),
    [
        (INITIAL, [CODE, CODE], [None, "HealthCheckFailed"]),
        (INITIAL, [SLOW, SLOW, REFUSED], [None, "Target.Timeout", "Target.FailedHealthChecks"]),
        (HEALTHY, [REFUSED, SLOW], [None, "Target.Timeout"]),
        # recovering (passing, not yet healthy) keeps the reason it is unhealthy for; HEALTHY has none
        (UNHEALTHY, [CODE, PASS, PASS], ["HealthCheckFailed", "HealthCheckFailed", None]),
        (INITIAL, [PASS], [None]),
    ],
)
def test_reason_codes_come_with_unhealthy_only(
    start: TargetStatus, events: list[CheckEvent], reasons: list[str | None]
) -> None:
    assert [h.reason for h in run(events, config(2, 2), TargetHealth(start))] == reasons


@pytest.mark.parametrize("status", [TargetStatus.DRAINING, TargetStatus.UNAVAILABLE, TargetStatus.UNUSED])
@pytest.mark.parametrize("event", [PASS, CODE])
def test_a_check_cannot_move_a_status_the_control_plane_owns(status: TargetStatus, event: CheckEvent) -> None:
    with pytest.raises(IllegalTransition, match=str(status)):
        advance(TargetHealth(status), event, config())


def test_streaks_count_consecutive_checks_only() -> None:
    seen = run([PASS, PASS, CODE, CODE, CODE, PASS], config(5, 10))
    assert [(h.passes, h.failures) for h in seen] == [(1, 0), (2, 0), (0, 1), (0, 2), (0, 3), (1, 0)]


@given(
    events=st.lists(st.sampled_from([PASS, CODE, SLOW]), max_size=40),
    healthy=st.integers(2, 10),
    unhealthy=st.integers(2, 10),
)
def test_status_is_decided_by_the_latest_streak(events: list[CheckEvent], healthy: int, unhealthy: int) -> None:
    """INITIAL until a pass or `unhealthy` failures in a row; then a status only flips when the streak of the
    other kind reaches its threshold."""
    cfg = config(healthy, unhealthy)
    before = TargetHealth()
    for event in events:
        after = advance(before, event, cfg)
        if before.status is INITIAL:
            expected = HEALTHY if event == PASS else (UNHEALTHY if after.failures >= unhealthy else INITIAL)
        elif before.status is HEALTHY:
            expected = UNHEALTHY if after.failures == unhealthy else HEALTHY
        else:
            expected = HEALTHY if after.passes == healthy else UNHEALTHY
        assert after.status is expected
        assert (after.reason is None) == (after.status is not UNHEALTHY)
        before = after


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("HEALTHY", HEALTHY),
        ("UNHEALTHY", UNHEALTHY),
        ("INITIAL", INITIAL),
        ("UNUSED", INITIAL),
        ("UNAVAILABLE", INITIAL),
        (None, INITIAL),
    ],
)
def test_seed_keeps_a_checked_status_and_starts_anything_else_initial(
    stored: str | None, expected: TargetStatus
) -> None:
    assert seed(stored) == TargetHealth(expected)


@pytest.mark.parametrize(
    ("before", "now", "expected"),
    [
        ("HEALTHY", "INITIAL", True),
        ("UNHEALTHY", "INITIAL", True),
        ("INITIAL", "INITIAL", False),
        ("INITIAL", "HEALTHY", False),  # the checker's own write landing
        ("HEALTHY", "UNHEALTHY", False),
        ("UNUSED", "INITIAL", False),
        ("HEALTHY", "HEALTHY", False),
    ],
)
def test_registered_again_is_a_stored_reset_to_initial(before: str, now: str, expected: bool) -> None:
    assert registered_again(before, now) is expected


# -- one check --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "matcher", "expected"),
    [
        (200, None, ((200, 200),), PASS),
        (500, None, ((200, 200),), CODE),
        (404, None, ((200, 499),), PASS),
        (202, None, ((200, 200), (202, 202)), PASS),
        (201, None, ((200, 200), (202, 202)), CODE),
        (299, None, ((200, 299),), PASS),
        (300, None, ((200, 299),), CODE),
        (None, CheckError.TIMEOUT, ((200, 200),), SLOW),
        (None, CheckError.CONNECTION, ((200, 200),), REFUSED),
        (None, None, (), PASS),  # a TCP check that connected
        (None, CheckError.CONNECTION, (), REFUSED),
    ],
)
def test_check_outcome(
    status: int | None, error: CheckError | None, matcher: tuple[tuple[int, int], ...], expected: CheckEvent
) -> None:
    assert check_outcome(status, error, matcher) == expected


# -- the effective check of a group -----------------------------------------------------------------------------


def test_defaults_of_an_http1_group() -> None:
    """User Guide: HTTP1 groups are checked by default: HTTP, path /, traffic port, 30 s, 5 s, 5, 2, 200."""
    assert check_config(group()) == CheckConfig("HTTP", "HTTP1", None, "/", 30.0, 5.0, 5, 2, ((200, 200),))


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (group(), True),
        (group(kind="INSTANCE"), True),
        (group(protocol="HTTPS"), True),
        (group({"enabled": False}), False),
        # User Guide: HTTP2 groups are not checked by default, but can be
        (group(version="HTTP2"), False),
        (group({"enabled": True, "protocolVersion": "HTTP2"}, version="HTTP2"), True),
        (group(version="GRPC"), False),
        (group({"enabled": True, "protocolVersion": "HTTP1"}, version="GRPC"), True),
        # TLS listeners UG: TCP groups are not checked by default
        (group(protocol="TCP"), False),
        (group({"enabled": True, "protocol": "TCP"}, protocol="TCP"), True),
        # no health checks for Lambda or ALB groups, whatever is stored
        (group(kind="LAMBDA", protocol=None), False),
        (group(kind="ALB", stored={"enabled": True, "protocol": "HTTP"}), False),
        # an older record with no stored check gets the API's defaults
        (group(stored={}), True),
        (group(stored={}, version="HTTP2"), False),
    ],
)
def test_which_groups_are_checked(view: TargetGroupView, expected: bool) -> None:
    assert checks_enabled(view) is expected
    assert (check_config(view) is not None) is expected


@pytest.mark.parametrize(
    ("check", "protocol", "version", "field", "value"),
    [
        ({}, "HTTPS", "HTTP1", "protocol", "HTTPS"),  # the check protocol follows the group's
        ({"protocol": "HTTP"}, "HTTPS", "HTTP1", "protocol", "HTTP"),
        ({"enabled": True, "protocolVersion": "HTTP2"}, "HTTP", "HTTP2", "protocol_version", "HTTP2"),
        ({"enabled": True, "protocol": "TCP"}, "TCP", "HTTP1", "protocol_version", None),
        ({"enabled": True, "protocol": "TCP"}, "TCP", "HTTP1", "matcher", ()),
        ({"port": 8081}, "HTTP", "HTTP1", "port", 8081),
        ({"path": "/healthz?deep=1"}, "HTTP", "HTTP1", "path", "/healthz?deep=1"),
        ({"matcher": {"httpCode": "200-299,404"}}, "HTTP", "HTTP1", "matcher", ((200, 299), (404, 404))),
        ({"healthCheckIntervalSeconds": 5}, "HTTP", "HTTP1", "interval", 5.0),
        ({"healthCheckTimeoutSeconds": 120}, "HTTP", "HTTP1", "timeout", 120.0),
        ({"healthyThresholdCount": 10}, "HTTP", "HTTP1", "healthy_threshold", 10),
        ({"unhealthyThresholdCount": 3}, "HTTP", "HTTP1", "unhealthy_threshold", 3),
    ],
)
def test_effective_check_members(check: dict[str, Any], protocol: str, version: str, field: str, value: object) -> None:
    effective = check_config(group(check, protocol=protocol, version=version))
    assert effective is not None
    assert getattr(effective, field) == value


@pytest.mark.parametrize(("port", "traffic", "expected"), [(None, 8080, 8080), (9000, 8080, 9000)])
def test_check_port_defaults_to_the_traffic_port(port: int | None, traffic: int, expected: int) -> None:
    cfg = CheckConfig("HTTP", "HTTP1", port, "/", 30.0, 5.0, 5, 2, ((200, 200),))
    assert cfg.port_for(traffic) == expected


def test_checked_targets_are_those_of_used_groups_with_checks_on_except_draining() -> None:
    up, draining = TargetView("10.0.0.1", 80, "INITIAL"), TargetView("10.0.0.2", 80, "DRAINING")
    groups = [
        group(targets=(up, draining), group_id="tg-checked000000000"),
        group(targets=(up,), group_id="tg-notused000000000"),
        group({"enabled": False}, targets=(up,), group_id="tg-disabled00000000"),
        group(kind="LAMBDA", protocol=None, targets=(TargetView("arn:fn", None, "UNAVAILABLE"),), group_id="tg-l"),
    ]
    snapshot = Snapshot(
        version=1,
        services_by_host=MappingProxyType({}),
        target_groups=MappingProxyType({g.id: g for g in groups}),
        vpcs=MappingProxyType({}),
        network_auth=MappingProxyType({}),
        used_target_groups=frozenset({"tg-checked000000000", "tg-disabled00000000", "tg-l", "tg-gone"}),
    )
    found = checked_targets(snapshot)
    assert list(found) == [("tg-checked000000000", "10.0.0.1:80")]
    assert found[("tg-checked000000000", "10.0.0.1:80")].target == up


STORED = (
    TargetView("10.0.0.1", 80, "HEALTHY"),
    TargetView("10.0.0.2", 80, "UNHEALTHY"),
    TargetView("10.0.0.3", 80, "INITIAL"),
    TargetView("10.0.0.4", 80, "DRAINING"),
    TargetView("10.0.0.5", 80, "UNAVAILABLE"),
)


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (group(targets=STORED), {"10.0.0.1:80"}),
        (group({"enabled": False}, targets=STORED), {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.5:80"}),
        (group(targets=STORED[2:4]), set()),  # nothing healthy yet: decide() fails open
    ],
)
def test_healthy_from_stored_statuses(view: TargetGroupView, expected: set[str]) -> None:
    """Checked groups route to stored HEALTHY targets; unchecked ones to every target but DRAINING ones."""
    assert healthy_from_stored(view) == expected
