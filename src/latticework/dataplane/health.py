"""Target health as the health checker decides it: the effective check of a target group, the outcome of one
check, and the per-target state machine (INITIAL -> HEALTHY / UNHEALTHY) whose transitions are a table.

Pure: no sockets, no asyncio, no clock. `healthcheck` does the I/O and feeds check outcomes in here.

Only INITIAL, HEALTHY and UNHEALTHY are the checker's to decide. DRAINING (deregistering), UNAVAILABLE (checks off
or not supported) and UNUSED (no service uses the group) are the control plane's view of a target
(`control.backend.targets.target_status`); a check outcome for a target in one of those states is an illegal
transition and raises.

Sources: Lattice User Guide "Health checks for your VPC Lattice target groups" (reference 2.7): a registered
target "must pass one health check to be considered healthy"; `unhealthyThresholdCount` consecutive failures
put it out of service, `healthyThresholdCount` consecutive successes back in; checks are off for LAMBDA and
ALB groups. Reason codes: see the REASON_* constants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from latticework.control.backend._health_config import code_matches, complete_health_check, parse_matcher
from latticework.dataplane.snapshot import Snapshot, TargetGroupView, TargetView

__all__ = [
    "CHECKED_GROUP_TYPES",
    "REASON_CONNECTION_ERROR",
    "REASON_RESPONSE_CODE_MISMATCH",
    "REASON_TIMEOUT",
    "CheckConfig",
    "CheckError",
    "CheckEvent",
    "CheckFailed",
    "CheckPassed",
    "CheckedTarget",
    "IllegalTransition",
    "TargetHealth",
    "TargetStatus",
    "advance",
    "check_config",
    "check_outcome",
    "checked_targets",
    "checks_enabled",
    "healthy_from_stored",
    "registered_again",
    "seed",
]

# User Guide, health checks: "Health checks do not support Lambda target groups" nor ALB target groups.
CHECKED_GROUP_TYPES = frozenset({"IP", "INSTANCE"})

# Reason codes written with UNHEALTHY (HEALTHY and INITIAL carry none, as in the CLI example below).
# AWS CLI example `vpc-lattice list-targets`: an UNHEALTHY target shows reasonCode "HealthCheckFailed"; the only
# Lattice-documented code for a failed check, used here when the target answered with a code outside the matcher.
REASON_RESPONSE_CODE_MISMATCH = "HealthCheckFailed"
# Lattice documents no finer codes; these two are Elastic Load Balancing's, verbatim (ELBv2 API reference,
# TargetHealth.Reason): "Target.Timeout - The health check requests timed out." and "Target.FailedHealthChecks -
# The load balancer received an error while establishing a connection to the target or the target response was
# malformed."
REASON_TIMEOUT = "Target.Timeout"
REASON_CONNECTION_ERROR = "Target.FailedHealthChecks"


class TargetStatus(StrEnum):
    """The model's TargetStatus enum. The checker's machine moves between the first three only."""

    INITIAL = "INITIAL"
    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"
    DRAINING = "DRAINING"
    UNAVAILABLE = "UNAVAILABLE"
    UNUSED = "UNUSED"


class CheckError(StrEnum):
    """Why a check got no usable answer."""

    TIMEOUT = "TIMEOUT"  # nothing within healthCheckTimeoutSeconds
    CONNECTION = "CONNECTION"  # refused, reset, TLS failure, or a response that is not HTTP


_ERROR_REASONS: Mapping[CheckError, str] = {
    CheckError.TIMEOUT: REASON_TIMEOUT,
    CheckError.CONNECTION: REASON_CONNECTION_ERROR,
}


@dataclass(frozen=True, slots=True)
class CheckPassed:
    pass


@dataclass(frozen=True, slots=True)
class CheckFailed:
    reason: str


CheckEvent = CheckPassed | CheckFailed


class IllegalTransition(Exception):
    """A check outcome for a target whose status the checker does not own (or an unknown event)."""


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """A target group's health check with every member filled in (interval and timeout in seconds)."""

    protocol: str  # HTTP | HTTPS | TCP
    protocol_version: str | None  # HTTP1 | HTTP2 for HTTP(S) checks; None for TCP checks
    port: int | None  # None: the port each target receives traffic on
    path: str
    interval: float
    timeout: float
    healthy_threshold: int
    unhealthy_threshold: int
    matcher: tuple[tuple[int, int], ...]  # inclusive (low, high) success codes; () for TCP checks

    def port_for(self, traffic_port: int) -> int:
        # User Guide, HealthCheckPort: "By default, uses the port on which each target receives traffic."
        return self.port or traffic_port


@dataclass(frozen=True, slots=True)
class TargetHealth:
    """One target's state in the machine: its status, the reason shown with it, and the current streaks."""

    status: TargetStatus = TargetStatus.INITIAL
    reason: str | None = None
    passes: int = 0  # consecutive passed checks, up to the latest
    failures: int = 0  # consecutive failed checks, up to the latest


# -- the effective check of a target group --------------------------------------------------------------------


def checks_enabled(group: TargetGroupView) -> bool:
    """Whether the data plane checks this group's targets: IP and INSTANCE groups with checks enabled."""
    return check_config(group) is not None


def check_config(group: TargetGroupView) -> CheckConfig | None:
    """The group's effective health check, or None when its targets are not checked (LAMBDA and ALB groups,
    checks disabled). The control plane stores the check completed; a member missing from an older record gets
    the same default the API would fill in (`complete_health_check`)."""
    if group.type not in CHECKED_GROUP_TYPES or group.protocol is None:
        return None
    stored = complete_health_check(group.health_check, group.protocol, group.protocol_version)
    if not stored.get("enabled") or stored.get("protocol") not in ("HTTP", "HTTPS", "TCP"):
        return None
    return _config(stored)


def _config(stored: Mapping[str, Any]) -> CheckConfig:
    http = stored["protocol"] != "TCP"
    return CheckConfig(
        protocol=stored["protocol"],
        protocol_version=stored.get("protocolVersion", "HTTP1") if http else None,
        port=stored.get("port") or None,
        path=stored.get("path") or "/",
        interval=float(stored["healthCheckIntervalSeconds"]),
        timeout=float(stored["healthCheckTimeoutSeconds"]),
        healthy_threshold=int(stored["healthyThresholdCount"]),
        unhealthy_threshold=int(stored["unhealthyThresholdCount"]),
        matcher=parse_matcher(stored.get("matcher", {}).get("httpCode") or "200") if http else (),
    )


@dataclass(frozen=True, slots=True)
class CheckedTarget:
    group: TargetGroupView
    target: TargetView
    config: CheckConfig


def checked_targets(snapshot: Snapshot) -> dict[tuple[str, str], CheckedTarget]:
    """Every target to check, by (target group ID, "id:port"): the targets of groups that some service uses
    (a group no service uses reads UNUSED and gets no checks) whose checks are on, DRAINING ones excepted (their
    status is the control plane's until they are gone)."""
    found = {}
    for group_id in snapshot.used_target_groups:
        group = snapshot.target_groups.get(group_id)
        config = check_config(group) if group is not None else None
        if group is None or config is None:
            continue
        for target in group.targets:
            if target.status != TargetStatus.DRAINING:
                found[(group.id, target.key)] = CheckedTarget(group, target, config)
    return found


def healthy_from_stored(group: TargetGroupView) -> frozenset[str]:
    """The "id:port" keys routable as healthy by the statuses stored in the snapshot, for when no checker state
    is at hand (a group not picked up yet, or a worker that does not run the checker): the HEALTHY targets of a
    checked group; every target but DRAINING ones of a group without checks, whose targets read UNAVAILABLE and
    take traffic (Lattice routes to them rather than to none)."""
    if checks_enabled(group):
        return frozenset(t.key for t in group.targets if t.status == TargetStatus.HEALTHY)
    return frozenset(t.key for t in group.targets if t.status != TargetStatus.DRAINING)


# -- one check --------------------------------------------------------------------------------------------------


def check_outcome(
    status_code: int | None, error: CheckError | None, matcher: tuple[tuple[int, int], ...]
) -> CheckEvent:
    """The event one check produced. `status_code` is None for a TCP check (connecting is passing); `error`
    is set when there was no usable answer. A timed-out check fails (User Guide: "no response from a target
    means a failed health check")."""
    if error is not None:
        return CheckFailed(_ERROR_REASONS[error])
    if status_code is None or code_matches(matcher, status_code):
        return CheckPassed()
    return CheckFailed(REASON_RESPONSE_CODE_MISMATCH)


# -- the state machine ------------------------------------------------------------------------------------------

_ONE, _HEALTHY_COUNT, _UNHEALTHY_COUNT = "one", "healthyThresholdCount", "unhealthyThresholdCount"

# (status, event) -> the streak that decides: one check, or a threshold count.
_STREAK_NEEDED: Mapping[tuple[TargetStatus, type[CheckPassed] | type[CheckFailed]], str] = {
    (TargetStatus.INITIAL, CheckPassed): _ONE,  # "it must pass one health check to be considered healthy"
    (TargetStatus.INITIAL, CheckFailed): _UNHEALTHY_COUNT,
    (TargetStatus.HEALTHY, CheckPassed): _ONE,
    (TargetStatus.HEALTHY, CheckFailed): _UNHEALTHY_COUNT,
    (TargetStatus.UNHEALTHY, CheckPassed): _HEALTHY_COUNT,
    (TargetStatus.UNHEALTHY, CheckFailed): _ONE,
}

# (status, event, streak reached) -> next status. Keys missing here are illegal transitions.
_TRANSITIONS: Mapping[tuple[TargetStatus, type[CheckPassed] | type[CheckFailed], bool], TargetStatus] = {
    (TargetStatus.INITIAL, CheckPassed, True): TargetStatus.HEALTHY,
    (TargetStatus.INITIAL, CheckFailed, False): TargetStatus.INITIAL,
    (TargetStatus.INITIAL, CheckFailed, True): TargetStatus.UNHEALTHY,
    (TargetStatus.HEALTHY, CheckPassed, True): TargetStatus.HEALTHY,
    (TargetStatus.HEALTHY, CheckFailed, False): TargetStatus.HEALTHY,
    (TargetStatus.HEALTHY, CheckFailed, True): TargetStatus.UNHEALTHY,
    (TargetStatus.UNHEALTHY, CheckPassed, False): TargetStatus.UNHEALTHY,
    (TargetStatus.UNHEALTHY, CheckPassed, True): TargetStatus.HEALTHY,
    (TargetStatus.UNHEALTHY, CheckFailed, True): TargetStatus.UNHEALTHY,
}


def advance(health: TargetHealth, event: CheckEvent, config: CheckConfig) -> TargetHealth:
    """The target's state after one more check. Raises IllegalTransition for a status the checker does not
    own (DRAINING, UNAVAILABLE, UNUSED) or an unknown event."""
    kind = type(event)
    needed = _STREAK_NEEDED.get((health.status, kind))
    if needed is None:
        raise IllegalTransition(f"a {kind.__name__} event cannot move a {health.status} target")
    passed = isinstance(event, CheckPassed)
    streak = replace(health, passes=health.passes + 1, failures=0) if passed else _failed(health)
    count = streak.passes if passed else streak.failures
    status = _TRANSITIONS[(health.status, kind, count >= _threshold(needed, config))]
    return replace(streak, status=status, reason=_reason(status, event, health))


def _failed(health: TargetHealth) -> TargetHealth:
    return replace(health, passes=0, failures=health.failures + 1)


def _threshold(needed: str, config: CheckConfig) -> int:
    if needed == _HEALTHY_COUNT:
        return config.healthy_threshold
    return config.unhealthy_threshold if needed == _UNHEALTHY_COUNT else 1


def _reason(status: TargetStatus, event: CheckEvent, before: TargetHealth) -> str | None:
    """UNHEALTHY shows why the latest check failed; while it recovers (passing, not yet healthy) it keeps the
    reason it had. HEALTHY and INITIAL show none."""
    if status is not TargetStatus.UNHEALTHY:
        return None
    return event.reason if isinstance(event, CheckFailed) else before.reason


def registered_again(stored_before: str, stored_now: str) -> bool:
    """Whether a target's stored status went back to INITIAL behind the checker's back. The checker only ever
    writes HEALTHY or UNHEALTHY for a target it checks, so HEALTHY/UNHEALTHY -> INITIAL is the control plane's
    doing: the target was deregistered and registered again (DRAINING -> INITIAL) between two snapshots the
    checker saw. It then starts over as a new target."""
    return stored_before in (TargetStatus.HEALTHY, TargetStatus.UNHEALTHY) and stored_now == TargetStatus.INITIAL


def seed(stored_status: str | None) -> TargetHealth:
    """Where the machine starts for a target the checker begins to watch: the status last written for it
    (HEALTHY or UNHEALTHY survive a restart of the checker), else INITIAL (a new target, or one whose group
    was unchecked: UNAVAILABLE, UNUSED)."""
    if stored_status in (TargetStatus.HEALTHY, TargetStatus.UNHEALTHY):
        return TargetHealth(TargetStatus(stored_status))
    return TargetHealth()
