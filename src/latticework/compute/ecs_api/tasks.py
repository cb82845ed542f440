"""ECS task operations: RunTask, StopTask, ListTasks, DescribeTasks.

RunTask writes PROVISIONING tasks; the supervisor launches them as local processes (`compute/services/launch.py`
says how a container becomes one) and moves them through the task lifecycle. StopTask asks for the stop
(desiredStatus STOPPED); the supervisor deregisters, signals and records the exit. Stopped tasks stay describable,
as on ECS. A standalone task gets the VPC environment of its `latticework:vpc` tag. Reads and writes only through
the transaction.
"""

from __future__ import annotations

from typing import Any

from latticework.compute.ecs_api._context import EcsCtx, page_of, tags_of
from latticework.compute.ecs_api.errors import InvalidParameterException
from latticework.compute.ecs_api.services import VPC_TAG
from latticework.compute.services import model
from latticework.compute.services.records import TaskOrigin, new_task
from latticework.control.store import Record

__all__ = ["describe_task", "describe_tasks", "list_tasks", "run_task", "stop_task"]

_MAX_RUN = 10  # ECS API reference RunTask count: "You can specify up to 10 tasks for each call."


def run_task(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    cluster = ctx.cluster(params.get("cluster"))
    taskdef = ctx.taskdef(params["taskDefinition"])
    if taskdef.doc["status"] != "ACTIVE":
        raise InvalidParameterException(f"TaskDefinition is inactive: {taskdef.arn}")
    count = params.get("count") or 1
    if not 1 <= count <= _MAX_RUN:
        raise InvalidParameterException(f"count must be between 1 and {_MAX_RUN}.")
    _check_overrides(params.get("overrides") or {}, taskdef.doc)
    tags = params.get("tags") or []
    origin = TaskOrigin(
        cluster=cluster.id,
        group=params.get("group") or f"family:{taskdef.doc['family']}",
        started_by=params.get("startedBy"),
        vpc=_tagged_vpc(ctx, tags),
        launch_type=params.get("launchType") or "FARGATE",
    )
    tasks = []
    for _ in range(count):
        record = new_task(ctx.caller.account, ctx.caller.region, taskdef.doc, origin, ctx.now, params.get("overrides"),
                          tags)  # fmt: skip
        ctx.tx.put(record)
        tasks.append(describe_task(record.doc))
    return {"tasks": tasks, "failures": []}


def stop_task(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    cluster = ctx.cluster(params.get("cluster"))
    record = ctx.find_task(cluster, params["task"])
    if record is None:
        raise InvalidParameterException("The referenced task was not found.")
    doc = record.doc
    if doc["desiredStatus"] != "STOPPED":
        doc.update(desiredStatus="STOPPED", stoppingAt=ctx.now, stopCode="UserInitiated",
                   stoppedReason=params.get("reason") or "Task stopped by user")  # fmt: skip
        ctx.tx.put(record)
    return {"task": describe_task(doc)}


def list_tasks(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    """Filters as ECS applies them: serviceName, family, startedBy, launchType, and desiredStatus (RUNNING
    unless given)."""
    cluster = ctx.cluster(params.get("cluster"))
    service = params.get("serviceName")
    records = ctx.tx.find(model.TASK_KIND, ctx.caller.account, ctx.caller.region, parent=cluster.id,
                          ref=service.rsplit("/", 1)[-1] if service else None)  # fmt: skip
    arns = [r.arn for r in records if _listed(r, params)]
    found = page_of(arns, params)
    return {"taskArns": found.pop("items"), **found}


def describe_tasks(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    cluster = ctx.cluster(params.get("cluster"), active=False)
    tasks, failures = [], []
    for identifier in params["tasks"]:
        record = ctx.find_task(cluster, identifier)
        if record is None:
            arn = identifier if identifier.startswith("arn:") else ctx.arn("task", cluster.id, identifier)
            failures.append({"arn": arn, "reason": "MISSING"})
        else:
            tasks.append({**describe_task(record.doc), **tags_of(record.doc, params)})
    return {"tasks": tasks, "failures": failures}


def describe_task(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in model.public(doc).items() if k != "tags"}


def _listed(record: Record, params: dict[str, Any]) -> bool:
    doc = record.doc
    wanted = params.get("desiredStatus") or "RUNNING"
    family = doc["taskDefinitionArn"].rsplit("/", 1)[-1].split(":")[0]
    return (
        doc["desiredStatus"] == wanted
        and params.get("family") in (None, family)
        and params.get("startedBy") in (None, doc.get("startedBy"))
        and params.get("launchType") in (None, doc.get("launchType"))
    )


def _check_overrides(overrides: dict[str, Any], taskdef: dict[str, Any]) -> None:
    names = {c["name"] for c in taskdef["containerDefinitions"]}
    for entry in overrides.get("containerOverrides") or []:
        if entry.get("name") not in names:
            raise InvalidParameterException(
                f"Override for container '{entry.get('name')}' names no container of {taskdef['taskDefinitionArn']}."
            )


def _tagged_vpc(ctx: EcsCtx, tags: list[dict[str, str]]) -> str | None:
    given = next((t.get("value") for t in tags if t.get("key") == VPC_TAG), None)
    if not given:
        return None
    for vpc in ctx.tx.find("vpc", ctx.caller.account, ctx.caller.region):
        if given in (vpc.id, (vpc.doc.get("tags") or {}).get("Name")):
            return vpc.id
    raise InvalidParameterException(f"Tag {VPC_TAG}={given} names no VPC of this account and Region (ID or Name).")
