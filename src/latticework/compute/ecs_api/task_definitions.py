"""ECS task definition operations: RegisterTaskDefinition, DeregisterTaskDefinition, DescribeTaskDefinition.

Each registration is a new revision of its family (1, 2, ...), stored whole; deregistering marks it INACTIVE
(still describable, no longer usable for new services or tasks, as on ECS). Container definitions are stored as
given with ECS's defaults filled in (essential true, portMappings protocol tcp). How a container runs locally is
`compute/services/launch.py`'s business; nothing is checked against an image registry here. Reads and writes only
through the transaction.
"""

from __future__ import annotations

from typing import Any

from latticework.compute.ecs_api._context import EcsCtx
from latticework.compute.ecs_api.errors import ClientException, InvalidParameterException
from latticework.compute.services import model
from latticework.control.store import Record

__all__ = ["deregister_task_definition", "describe_task_definition", "register_task_definition"]

_STORED = (
    "taskRoleArn", "executionRoleArn", "networkMode", "volumes", "placementConstraints", "requiresCompatibilities",
    "cpu", "memory", "pidMode", "ipcMode", "proxyConfiguration", "inferenceAccelerators", "ephemeralStorage",
    "runtimePlatform", "enableFaultInjection",
)  # fmt: skip


def register_task_definition(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    family = params["family"]
    containers = [_container(c) for c in params["containerDefinitions"]]
    _check_names(containers)
    account, region = ctx.caller.account, ctx.caller.region
    revisions = ctx.tx.find(model.TASKDEF_KIND, account, region, name=family)
    revision = max((int(r.doc["revision"]) for r in revisions), default=0) + 1
    arn = model.taskdef_arn(region, account, family, revision)
    doc: dict[str, Any] = {
        "taskDefinitionArn": arn,
        "family": family,
        "revision": revision,
        "containerDefinitions": containers,
        "status": "ACTIVE",
        "networkMode": "awsvpc" if "FARGATE" in (params.get("requiresCompatibilities") or []) else "bridge",
        "volumes": [],
        "placementConstraints": [],
        "compatibilities": ["EC2", "FARGATE"],
        "registeredAt": ctx.now,
        "tags": params.get("tags") or [],
    }
    doc.update({k: params[k] for k in _STORED if params.get(k) is not None})
    ctx.tx.put(Record(model.TASKDEF_KIND, account, region, f"{family}:{revision}", arn, doc, family))
    return {"taskDefinition": describe(doc), "tags": doc["tags"]}


def deregister_task_definition(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    """ECS API reference DeregisterTaskDefinition: a revision must be given (a bare family is refused)."""
    if ":" not in params["taskDefinition"].rsplit("/", 1)[-1]:
        raise ClientException("The specified task definition identifier is invalid. Specify a revision.")
    record = ctx.taskdef(params["taskDefinition"])
    if record.doc["status"] == "ACTIVE":
        record.doc.update(status="INACTIVE", deregisteredAt=ctx.now)
        ctx.tx.put(record)
    return {"taskDefinition": describe(record.doc)}


def describe_task_definition(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.taskdef(params["taskDefinition"])
    result: dict[str, Any] = {"taskDefinition": describe(record.doc)}
    if "TAGS" in (params.get("include") or []):
        result["tags"] = record.doc.get("tags") or []
    return result


def describe(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "tags"}


def _container(given: dict[str, Any]) -> dict[str, Any]:
    container = {"essential": True, **given}
    mappings = []
    for mapping in given.get("portMappings") or []:
        port = mapping.get("containerPort")
        # ECS: with awsvpc the host port is the container port; here the host port is chosen at launch.
        mappings.append({"protocol": "tcp", **mapping, **({"hostPort": port} if port is not None else {})})
    container["portMappings"] = mappings
    container.setdefault("environment", [])
    container.setdefault("mountPoints", [])
    container.setdefault("volumesFrom", [])
    return container


def _check_names(containers: list[dict[str, Any]]) -> None:
    names = [c.get("name") for c in containers]
    if any(not n for n in names):
        raise ClientException("Container.name should not be null or empty.")
    if len(set(names)) != len(names):
        raise ClientException("Container names must be unique within a task definition.")
    ports = [m["name"] for c in containers for m in c["portMappings"] if m.get("name")]
    if len(set(ports)) != len(ports):
        raise InvalidParameterException("Port mapping names must be unique within a task definition.")
    if not any(c["essential"] for c in containers):
        raise ClientException("A task definition must have at least one essential container.")
