"""ECS service operations: CreateService, UpdateService, DeleteService, DescribeServices, ListServices.

These only write the service's definition: its desired count, its deployments (the PRIMARY one names the task
definition and the Lattice target groups), its events. The supervisor (`compute/services/supervisor.py`) starts
and stops tasks to match, under the deployment configuration, and writes counts, rollout state and events back.

Deviations from AWS: the REPLICA strategy and the ECS deployment controller only (DAEMON, CODE_DEPLOY and
EXTERNAL are refused); `loadBalancers` register each task (its containerName's port) into the ELBv2 target group
(control/elbv2/tasks); a service's VPC is its `latticework:vpc` tag (VPC ID or Name tag) or else the VPC of its
first VPC Lattice target group, since
awsvpc subnets cannot name a VPC here. Reads and writes only through the transaction.
"""

from __future__ import annotations

from typing import Any

from latticework.compute.ecs_api._context import EcsCtx, page_of, tags_of
from latticework.compute.ecs_api.errors import (
    InvalidParameterException,
    ServiceNotActiveException,
    UnsupportedFeatureException,
)
from latticework.compute.services import model
from latticework.control.store import Record

__all__ = ["create_service", "delete_service", "describe_services", "list_services", "update_service"]

VPC_TAG = "latticework:vpc"
# ECS API reference DeploymentConfiguration: the defaults for the rolling update (ECS) deployment type.
_DEFAULT_DEPLOYMENT = {
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
}
_MAX_EVENTS = 100  # DescribeServices shows the latest 100 events


def create_service(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    cluster = ctx.cluster(params.get("cluster"))
    name = params["serviceName"]
    existing = ctx.find_service(cluster, name)
    if existing is not None and existing.doc["status"] != "INACTIVE":
        # ECS answers this for a second CreateService of a live service name.
        raise InvalidParameterException("Creation of service was not idempotent.")
    _refuse_unsupported(params)
    if params.get("desiredCount") is None:
        raise InvalidParameterException("desiredCount is required for the REPLICA scheduling strategy.")
    taskdef = _usable_taskdef(ctx, params.get("taskDefinition"))
    lattice = _lattice(ctx, params.get("vpcLatticeConfigurations") or [], taskdef.doc)
    _check_load_balancers(params.get("loadBalancers") or [], taskdef.doc)
    tags = params.get("tags") or []
    arn = model.service_arn(ctx.caller.region, ctx.caller.account, cluster.id, name)
    doc: dict[str, Any] = {
        "serviceArn": arn,
        "serviceName": name,
        "clusterArn": cluster.doc["clusterArn"],
        "loadBalancers": params.get("loadBalancers") or [],
        "serviceRegistries": params.get("serviceRegistries") or [],
        "status": "ACTIVE",
        "desiredCount": params["desiredCount"],
        "runningCount": 0,
        "pendingCount": 0,
        "launchType": params.get("launchType") or "FARGATE",
        "taskDefinition": taskdef.arn,
        "deploymentConfiguration": {**_DEFAULT_DEPLOYMENT, **(params.get("deploymentConfiguration") or {})},
        "deployments": [],
        "events": [],
        "createdAt": ctx.now,
        "placementConstraints": [],
        "placementStrategy": [],
        "healthCheckGracePeriodSeconds": params.get("healthCheckGracePeriodSeconds") or 0,
        "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"},
        "tags": tags,
        "enableECSManagedTags": bool(params.get("enableECSManagedTags")),
        "propagateTags": params.get("propagateTags") or "NONE",
        "enableExecuteCommand": False,
        "_vpc": _vpc(ctx, tags, lattice),
        "_failures": 0,
        "_nextLaunchAt": 0.0,
    }
    for key in ("networkConfiguration", "platformVersion", "role"):
        if params.get(key) is not None:
            doc["roleArn" if key == "role" else key] = params[key]
    _new_deployment(ctx, doc, lattice)
    record = Record(model.SERVICE_KIND, ctx.caller.account, ctx.caller.region, f"{cluster.id}/{name}", arn, doc,
                    name, parent=cluster.id)  # fmt: skip
    # An INACTIVE service of this name keeps its row (still describable, as on ECS): replace it in place.
    record.seq = existing.seq if existing is not None else 0
    ctx.tx.put(record)
    return {"service": describe(doc)}


def update_service(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    """A new task definition, new Lattice or load balancer configurations, a new network configuration or
    forceNewDeployment start a new PRIMARY deployment; the old one becomes ACTIVE and drains as the new one
    rolls out. A desired count or deployment configuration alone changes the current deployment in place."""
    cluster = ctx.cluster(params.get("cluster"))
    record = ctx.service(cluster, params["service"])
    doc = record.doc
    if doc["status"] != "ACTIVE":
        raise ServiceNotActiveException()
    primary = doc["deployments"][0]
    redeploy = bool(params.get("forceNewDeployment"))
    taskdef_arn = doc["taskDefinition"]
    if params.get("taskDefinition"):
        taskdef_arn = _usable_taskdef(ctx, params["taskDefinition"]).arn
        redeploy = redeploy or taskdef_arn != doc["taskDefinition"]
    taskdef = ctx.taskdef(taskdef_arn).doc
    lattice = primary.get("vpcLatticeConfigurations") or []
    if params.get("vpcLatticeConfigurations") is not None:
        lattice = _lattice(ctx, params["vpcLatticeConfigurations"], taskdef)
        redeploy = True
    for key in ("loadBalancers", "networkConfiguration"):
        if params.get(key) is not None:
            doc[key] = params[key]
            redeploy = True
    _check_load_balancers(doc["loadBalancers"], taskdef)
    if params.get("desiredCount") is not None:
        doc["desiredCount"] = params["desiredCount"]
    if params.get("deploymentConfiguration"):
        doc["deploymentConfiguration"] = {**doc["deploymentConfiguration"], **params["deploymentConfiguration"]}
    if params.get("healthCheckGracePeriodSeconds") is not None:
        doc["healthCheckGracePeriodSeconds"] = params["healthCheckGracePeriodSeconds"]
    doc["taskDefinition"] = taskdef_arn
    if redeploy:
        _new_deployment(ctx, doc, lattice)
    doc["deployments"][0]["desiredCount"] = doc["desiredCount"]
    ctx.tx.put(record)
    return {"service": describe(doc)}


def delete_service(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    """ECS API reference DeleteService: a service scaled above 0 needs `force`; the service goes DRAINING while
    its tasks stop, then INACTIVE."""
    cluster = ctx.cluster(params.get("cluster"))
    record = ctx.service(cluster, params["service"])
    doc = record.doc
    if doc["status"] == "INACTIVE":
        raise ServiceNotActiveException()
    if doc["desiredCount"] > 0 and not params.get("force"):
        raise InvalidParameterException(
            "The service cannot be stopped while it is scaled above 0. Set desiredCount to 0 first, or pass force."
        )
    doc.update(status="DRAINING", desiredCount=0)
    ctx.tx.put(record)
    return {"service": describe(doc)}


def describe_services(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    cluster = ctx.cluster(params.get("cluster"), active=False)
    services, failures = [], []
    for identifier in params["services"]:
        record = ctx.find_service(cluster, identifier)
        if record is None:
            name = identifier.rsplit("/", 1)[-1]
            failures.append({"arn": ctx.arn("service", cluster.id, name), "reason": "MISSING"})
        else:
            services.append({**describe(record.doc), **tags_of(record.doc, params)})
    return {"services": services, "failures": failures}


def list_services(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    cluster = ctx.cluster(params.get("cluster"))
    records = ctx.tx.find(model.SERVICE_KIND, ctx.caller.account, ctx.caller.region, parent=cluster.id)
    arns = [r.arn for r in records if r.doc["status"] != "INACTIVE"]
    found = page_of(arns, params, default=10)
    return {"serviceArns": found.pop("items"), **found}


def describe(doc: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in model.public(doc).items() if k != "tags"}
    shown["events"] = list(reversed(doc["events"][-_MAX_EVENTS:]))  # newest first, as ECS lists them
    return shown


# -- pieces ----------------------------------------------------------------------------------------------------


def _refuse_unsupported(params: dict[str, Any]) -> None:
    if (params.get("schedulingStrategy") or "REPLICA") != "REPLICA":
        raise UnsupportedFeatureException("Latticework runs REPLICA services only; DAEMON needs container instances.")
    controller = (params.get("deploymentController") or {}).get("type", "ECS")
    if controller != "ECS":
        raise UnsupportedFeatureException(
            f"Deployment controller {controller} is not supported: use ECS (rolling update); blue/green runs "
            "through two services and Lattice listener weights (docs/services.md)."
        )


def _usable_taskdef(ctx: EcsCtx, identifier: str | None) -> Record:
    if not identifier:
        raise InvalidParameterException("A task definition must be specified.")
    record = ctx.taskdef(identifier)
    if record.doc["status"] != "ACTIVE":
        raise InvalidParameterException(f"TaskDefinition is inactive: {record.arn}")
    return record


def _lattice(ctx: EcsCtx, configs: list[dict[str, Any]], taskdef: dict[str, Any]) -> list[dict[str, Any]]:
    """ECS DG "Use Amazon VPC Lattice with your Amazon ECS services": each configuration names an IP target group
    and a portMappings `name` of the task definition."""
    names = {m.get("name") for c in taskdef["containerDefinitions"] for m in c["portMappings"] if m.get("name")}
    for config in configs:
        if config["portName"] not in names:
            raise InvalidParameterException(
                f"portName '{config['portName']}' is not the name of a portMapping in {taskdef['taskDefinitionArn']}"
                f" (names: {', '.join(sorted(n for n in names if n)) or 'none'})."
            )
        group = ctx.tx.get_by_arn(config["targetGroupArn"])
        if group is None or group.kind != "targetgroup":
            raise InvalidParameterException(f"Target group {config['targetGroupArn']} was not found.")
        if group.doc["type"] != "IP":
            raise InvalidParameterException(
                f"Target group {config['targetGroupArn']} is of type {group.doc['type']}; ECS registers tasks "
                "into IP target groups."
            )
    return configs


def _check_load_balancers(balancers: list[dict[str, Any]], taskdef: dict[str, Any]) -> None:
    containers = {c["name"] for c in taskdef["containerDefinitions"]}
    for balancer in balancers:
        name = balancer.get("containerName")
        if name is not None and name not in containers:
            raise InvalidParameterException(
                f"The container {name} does not exist in the task definition {taskdef['taskDefinitionArn']}."
            )


def _vpc(ctx: EcsCtx, tags: list[dict[str, str]], lattice: list[dict[str, Any]]) -> str | None:
    tagged = next((t.get("value") for t in tags if t.get("key") == VPC_TAG), None)
    if tagged:
        return _vpc_id(ctx, tagged)
    for config in lattice:
        group = ctx.tx.get_by_arn(config["targetGroupArn"])
        vpc = ((group.doc.get("config") or {}) if group else {}).get("vpcIdentifier")
        if vpc:
            return str(vpc)
    return None


def _vpc_id(ctx: EcsCtx, given: str) -> str:
    vpcs = ctx.tx.find("vpc", ctx.caller.account, ctx.caller.region)
    for vpc in vpcs:
        if given in (vpc.id, (vpc.doc.get("tags") or {}).get("Name")):
            return vpc.id
    raise InvalidParameterException(f"Tag {VPC_TAG}={given} names no VPC of this account and Region (ID or Name).")


def _new_deployment(ctx: EcsCtx, doc: dict[str, Any], lattice: list[dict[str, Any]]) -> None:
    for old in doc["deployments"]:
        old["status"] = "ACTIVE"
    deployment_id = model.deployment_id()
    doc["deployments"].insert(
        0,
        {
            "id": deployment_id,
            "status": "PRIMARY",
            "taskDefinition": doc["taskDefinition"],
            "desiredCount": doc["desiredCount"],
            "pendingCount": 0,
            "runningCount": 0,
            "failedTasks": 0,
            "createdAt": ctx.now,
            "updatedAt": ctx.now,
            "launchType": doc["launchType"],
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
            "vpcLatticeConfigurations": lattice,
            **({"networkConfiguration": doc["networkConfiguration"]} if doc.get("networkConfiguration") else {}),
        },
    )
