"""The service scheduler's step for one service, inside one store transaction: read the service and its tasks,
judge each task's health, replace failing ones, plan the rollout (`deployment.plan_deployment`), write new task
records and stop requests, and keep the counts, deployments and events DescribeServices shows.

No processes, no sockets, no clock reads (`now` is given): target health comes in as a mapping read beforehand
through the Lattice backend, and the supervisor turns the records written here into processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latticework.compute.services import model
from latticework.compute.services.backoff import restart_delay
from latticework.compute.services.deployment import LiveTask, TargetView, plan_deployment, task_phase
from latticework.compute.services.records import TaskOrigin, add_event, new_task
from latticework.control.store import Record, Transaction

__all__ = ["Health", "request_stop", "schedule_service", "task_targets"]

Health = Mapping[tuple[str, int], str]  # (target group ARN, port) -> Lattice target status
_HEALTH_WORDS = {model.Phase.HEALTHY: "HEALTHY", model.Phase.UNHEALTHY: "UNHEALTHY"}


def schedule_service(tx: Transaction, service: Record, health: Health, now: float, backoff_scale: float) -> None:
    """One scheduling step for `service` (re-read inside `tx`, so API writes are never lost)."""
    fresh = tx.get(service.kind, service.account, service.region, service.id)
    if fresh is None or fresh.doc["status"] == "INACTIVE":
        return
    doc = fresh.doc
    tasks = tx.find(model.TASK_KIND, fresh.account, fresh.region, parent=fresh.parent, ref=fresh.name)
    live = [t for t in tasks if t.doc["desiredStatus"] == "RUNNING" and t.doc["lastStatus"] != "STOPPED"]
    views = [v for v in (_judge(tx, doc, t, health, now, backoff_scale) for t in live) if v is not None]
    stopping = sum(1 for t in tasks if t.doc["lastStatus"] != "STOPPED") - len(views)
    primary = doc["deployments"][0]
    config = doc["deploymentConfiguration"]
    desired = doc["desiredCount"] if doc["status"] == "ACTIVE" else 0
    plan = plan_deployment(desired, config["minimumHealthyPercent"], config["maximumPercent"], primary["id"], views,
                           stopping)  # fmt: skip
    by_id = {t.id: t for t in live}
    stopped = [_scale_in(tx, by_id[i], primary["id"], now) for i in plan.stop]
    if stopped:
        add_event(doc, f"(service {doc['serviceName']}) has stopped {len(stopped)} running tasks: "
                  + " ".join(f"(task {t})" for t in stopped) + ".", now)  # fmt: skip
    started = _start(tx, fresh, plan.start, now) if plan.start and now >= doc["_nextLaunchAt"] else []
    _bookkeep(tx, fresh, views, started, now)


def _judge(
    tx: Transaction, service: dict[str, Any], task: Record, health: Health, now: float, scale: float
) -> LiveTask | None:
    """The task as the planner sees it; a task failing its checks after the grace period is stopped here (and
    counts toward the backoff), so it is no longer live."""
    doc = task.doc
    targets = [TargetView(health.get((t["targetGroupArn"], t["port"]), "INITIAL")) for t in doc.get("_registered", [])]
    running = doc["lastStatus"] == "RUNNING" and len(targets) == len(doc.get("_targets", []))
    started = doc.get("startedAt", doc["createdAt"])
    phase = task_phase(running, targets, started, service["healthCheckGracePeriodSeconds"], now)
    word = _HEALTH_WORDS.get(phase, "UNKNOWN")
    if doc["healthStatus"] != word:
        doc["healthStatus"] = word
        tx.put(task, config=False)
    if phase is model.Phase.UNHEALTHY:
        groups = " ".join(f"(target-group {t['targetGroupArn']})" for t in doc["_registered"])
        checks = _checker(doc["_registered"])
        request_stop(tx, task, f"Task failed {checks} health checks in {groups}", "ServiceSchedulerInitiated", now)
        note_failure(service, now, scale)
        add_event(service, f"(service {service['serviceName']}) (task {task.name}) failed {checks} health "
                  f"checks in {groups}.", now)  # fmt: skip
        return None
    return LiveTask(task.id, doc.get("startedBy") or "", phase, started)


def _checker(registered: list[dict[str, Any]]) -> str:
    """Whose checks a task failed, in ECS's words: "ELB" for ELBv2 target groups (`loadBalancers`), "VPC Lattice"
    for Lattice ones (ECS DG "Troubleshooting service load balancers": "Task failed ELB health checks in ...")."""
    elb = any(":elasticloadbalancing:" in t["targetGroupArn"] for t in registered)
    return "ELB" if elb else "VPC Lattice"


def note_failure(service: dict[str, Any], now: float, scale: float) -> None:
    """A task of the service failed (exited, never started, failed its checks): back off before the next launch
    (ECS DG "Amazon ECS service throttle logic")."""
    service["_failures"] = service.get("_failures", 0) + 1
    service["_nextLaunchAt"] = now + restart_delay(service["_failures"], scale)
    for deployment in service["deployments"][:1]:
        deployment["failedTasks"] = deployment.get("failedTasks", 0) + 1


def request_stop(tx: Transaction, task: Record, reason: str, code: str, now: float) -> None:
    task.doc.update(desiredStatus="STOPPED", stoppingAt=now, stopCode=code, stoppedReason=reason)
    tx.put(task, config=False)


def _scale_in(tx: Transaction, task: Record, deployment: str, now: float) -> str:
    # The reason ECS gives tasks its scheduler stops during deployments and scale-in.
    request_stop(tx, task, f"Scaling activity initiated by (deployment {deployment})", "ServiceSchedulerInitiated",
                 now)  # fmt: skip
    return str(task.name)


def _start(tx: Transaction, service: Record, count: int, now: float) -> list[Record]:
    doc = service.doc
    primary = doc["deployments"][0]
    taskdef = tx.get_by_arn(primary["taskDefinition"])
    if taskdef is None:
        return []
    origin = TaskOrigin(
        cluster=str(service.parent),
        group=f"service:{doc['serviceName']}",
        started_by=primary["id"],
        service=service.name,
        vpc=doc.get("_vpc"),
        # Lattice IP groups by portName, ELBv2 groups (`loadBalancers`) by containerName: the task registers in both.
        lattice=(*(primary.get("vpcLatticeConfigurations") or ()), *(doc.get("loadBalancers") or ())),
        launch_type=doc["launchType"],
    )
    started = [tx.put(new_task(service.account, service.region, taskdef.doc, origin, now)) for _ in range(count)]
    add_event(doc, f"(service {doc['serviceName']}) has started {count} tasks: "
              + " ".join(f"(task {t.name})" for t in started) + ".", now)  # fmt: skip
    return started


def _bookkeep(tx: Transaction, service: Record, views: list[LiveTask], started: list[Record], now: float) -> None:
    """Counts per deployment and for the service, finished deployments dropped, steady state noted."""
    doc = service.doc
    tasks = tx.find(model.TASK_KIND, service.account, service.region, parent=service.parent, ref=service.name)
    live = [t for t in tasks if t.doc["lastStatus"] != "STOPPED"]
    doc["runningCount"] = sum(1 for t in live if t.doc["lastStatus"] == "RUNNING")
    doc["pendingCount"] = sum(1 for t in live if t.doc["lastStatus"] in ("PROVISIONING", "PENDING"))
    for deployment in doc["deployments"]:
        mine = [t for t in live if t.doc.get("startedBy") == deployment["id"]]
        deployment["runningCount"] = sum(1 for t in mine if t.doc["lastStatus"] == "RUNNING")
        deployment["pendingCount"] = sum(1 for t in mine if t.doc["lastStatus"] in ("PROVISIONING", "PENDING"))
    primary = doc["deployments"][0]
    doc["deployments"] = [primary] + [d for d in doc["deployments"][1:] if d["runningCount"] + d["pendingCount"]]
    healthy = sum(1 for v in views if v.deployment == primary["id"] and v.phase is model.Phase.HEALTHY)
    steady = len(doc["deployments"]) == 1 and healthy == doc["desiredCount"] == len(live) and not started
    if steady and not doc.get("_steady"):
        primary.update(rolloutState="COMPLETED", rolloutStateReason=f"ECS deployment {primary['id']} completed.",
                       updatedAt=now)  # fmt: skip
        doc["_failures"] = 0
        add_event(doc, f"(service {doc['serviceName']}) has reached a steady state.", now)
    doc["_steady"] = steady
    if doc["status"] == "DRAINING" and not live:
        doc["status"] = "INACTIVE"
    tx.put(service, config=False)


def task_targets(doc: dict[str, Any]) -> list[tuple[str, int]]:
    """(target group ARN, port) of each target the task is registered as."""
    return [(t["targetGroupArn"], int(t["port"])) for t in doc.get("_registered", [])]
