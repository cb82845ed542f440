"""The rolling-deployment planner and task health: what a service should start and stop next. Pure: the
service's numbers and its live tasks in, a `Plan` out; no store, no processes, no clock reads.

ECS DG "Deploy Amazon ECS services by replacing tasks" (rolling update): `maximumPercent` is the upper limit on
the service's tasks in RUNNING or PENDING, as a percentage of desiredCount, rounded down; `minimumHealthyPercent`
is the lower limit on tasks that must stay RUNNING and healthy, rounded up. New tasks start for the PRIMARY
deployment while there is room under the upper limit; tasks of older deployments stop while enough healthy
tasks remain; an unhealthy or still-starting task of an old deployment does not count as healthy, so it can always
be stopped. Scaling in stops the worst tasks first (unhealthy, then starting, then the newest healthy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from latticework.compute.services.model import Phase

__all__ = ["LiveTask", "Plan", "TargetView", "plan_deployment", "task_phase"]

# Lattice target statuses that mean "no checks apply" (a group no Lattice service uses, or checks disabled):
# ECS treats a task without load-balancer health checks as healthy once it runs.
_UNCHECKED = frozenset({"HEALTHY", "UNUSED", "UNAVAILABLE"})


@dataclass(frozen=True, slots=True)
class LiveTask:
    """A task the service has not asked to stop: its ID, its deployment, and how it counts."""

    id: str
    deployment: str
    phase: Phase
    started_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    start: int
    stop: tuple[str, ...]


def plan_deployment(
    desired: int,
    minimum_healthy_percent: int,
    maximum_percent: int,
    primary: str,
    tasks: Sequence[LiveTask],
    stopping: int = 0,
) -> Plan:
    """What to do now. `tasks` are the live tasks not being stopped; `stopping` counts those still draining or
    exiting, which hold a place under the upper limit until they are gone."""
    lower = math.ceil(desired * minimum_healthy_percent / 100)
    upper = max(math.floor(desired * maximum_percent / 100), lower)
    primary_tasks = [t for t in tasks if t.deployment == primary]
    stop = [t.id for t in _worst_first(primary_tasks)[: max(0, len(primary_tasks) - desired)]]
    kept_primary = len(primary_tasks) - len(stop)
    healthy = sum(1 for t in tasks if t.phase is Phase.HEALTHY and t.id not in stop)
    for task in _worst_first([t for t in tasks if t.deployment != primary]):
        if task.phase is not Phase.HEALTHY:
            stop.append(task.id)
        elif healthy - 1 >= lower:
            stop.append(task.id)
            healthy -= 1
    # Tasks stopped now still run until they are gone: they hold their place under the upper limit.
    room = upper - len(tasks) - stopping
    return Plan(start=max(0, min(desired - kept_primary, room)), stop=tuple(stop))


def _worst_first(tasks: Sequence[LiveTask]) -> list[LiveTask]:
    rank = {Phase.UNHEALTHY: 0, Phase.STARTING: 1, Phase.HEALTHY: 2}
    return sorted(tasks, key=lambda t: (rank[t.phase], -t.started_at))


@dataclass(frozen=True, slots=True)
class TargetView:
    """One of a task's Lattice targets as ListTargets reports it."""

    status: str


def task_phase(
    running: bool, targets: Sequence[TargetView], started_at: float, grace_seconds: float, now: float
) -> Phase:
    """How a task counts: STARTING until it runs and its targets pass their checks; UNHEALTHY once a target
    fails them after the health check grace period (ECS API reference CreateService
    healthCheckGracePeriodSeconds: the scheduler ignores failed health checks for that long after a task starts)."""
    if not running:
        return Phase.STARTING
    if all(t.status in _UNCHECKED for t in targets):
        return Phase.HEALTHY
    if any(t.status == "UNHEALTHY" for t in targets) and now >= started_at + grace_seconds:
        return Phase.UNHEALTHY
    return Phase.STARTING
