"""Building the store documents of tasks, shared by RunTask (the API) and the service scheduler (the
supervisor), and the small readings of a task document both need. Pure: values in, a `Record` out.

A task's private keys: `_vpc` (the VPC whose environment it gets, or None), `_lattice` (the target groups and
port names it registers into), `_ports` (container name -> chosen port), `_host` and `_processes` (where its
processes run: pid and start time, to kill them if their server dies), `_registered` (targets it is registered
as), `_drainUntil` / `_killAt` (stop timers), `_failed` (it stopped without being asked: counts for the
service's restart backoff).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from latticework.compute.services import model
from latticework.control.store import Record

__all__ = ["MAX_EVENTS", "TaskOrigin", "add_event", "container_overrides", "new_task"]

MAX_EVENTS = 100  # DescribeServices shows the latest 100 events


@dataclass(frozen=True, slots=True)
class TaskOrigin:
    """Who starts a task and where it belongs."""

    cluster: str
    group: str
    started_by: str | None = None
    service: str | None = None
    vpc: str | None = None
    lattice: tuple[dict[str, Any], ...] = ()
    launch_type: str = "FARGATE"


def new_task(
    account: str,
    region: str,
    taskdef: dict[str, Any],
    origin: TaskOrigin,
    now: float,
    overrides: dict[str, Any] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> Record:
    """A PROVISIONING task the supervisor will launch."""
    task_id = model.new_task_id()
    arn = model.task_arn(region, account, origin.cluster, task_id)
    doc: dict[str, Any] = {
        "taskArn": arn,
        "clusterArn": model.cluster_arn(region, account, origin.cluster),
        "taskDefinitionArn": taskdef["taskDefinitionArn"],
        "containers": [
            _container(c, arn, region, account, origin.cluster, task_id) for c in taskdef["containerDefinitions"]
        ],
        "lastStatus": "PROVISIONING",
        "desiredStatus": "RUNNING",
        "healthStatus": "UNKNOWN",
        "createdAt": now,
        "group": origin.group,
        "launchType": origin.launch_type,
        "overrides": overrides or {"containerOverrides": [], "inferenceAcceleratorOverrides": []},
        "version": 1,
        "tags": tags or [],
        "connectivity": "CONNECTED",
        "_vpc": origin.vpc,
        "_lattice": list(origin.lattice),
    }
    for key in ("cpu", "memory"):
        if taskdef.get(key) is not None:
            doc[key] = taskdef[key]
    if origin.started_by:
        doc["startedBy"] = origin.started_by
    return Record(model.TASK_KIND, account, region, f"{origin.cluster}/{task_id}", arn, doc, task_id,
                  parent=origin.cluster, ref=origin.service)  # fmt: skip


def _container(
    definition: dict[str, Any], task_arn: str, region: str, account: str, cluster: str, task_id: str
) -> dict[str, Any]:
    return {
        "containerArn": model.container_arn(region, account, cluster, task_id),
        "taskArn": task_arn,
        "name": definition["name"],
        "image": definition.get("image", ""),
        "lastStatus": "PENDING",
        "networkBindings": [],
        "networkInterfaces": [],
        "healthStatus": "UNKNOWN",
    }


def container_overrides(task: dict[str, Any], name: str) -> dict[str, Any]:
    """RunTask's containerOverrides entry for a container (command, environment), or {}."""
    for entry in (task.get("overrides") or {}).get("containerOverrides") or []:
        if entry.get("name") == name:
            return dict(entry)
    return {}


def add_event(doc: dict[str, Any], message: str, now: float) -> None:
    """Append a service event (stored oldest first, at most the last 100)."""
    events = doc["events"]
    events.append({"id": str(uuid.uuid4()), "createdAt": now, "message": message})
    del events[: max(0, len(events) - MAX_EVENTS)]
