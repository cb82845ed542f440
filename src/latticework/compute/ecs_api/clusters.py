"""ECS cluster operations: CreateCluster, DeleteCluster, DescribeClusters, ListClusters.

A cluster is a name space for services and tasks; it places nothing (every task runs on this machine), so
capacity providers and container instances are stored and reported, never used. A deleted cluster stays
describable as INACTIVE and is reactivated by CreateCluster with its name, as ECS does. Reads and writes only
through the transaction.
"""

from __future__ import annotations

from typing import Any

from latticework.compute.ecs_api._context import DEFAULT_CLUSTER, EcsCtx, page_of, tags_of
from latticework.compute.ecs_api.errors import ClusterContainsServicesException, ClusterContainsTasksException
from latticework.compute.services import model
from latticework.control.store import Record

__all__ = ["create_cluster", "delete_cluster", "describe_clusters", "list_clusters"]


def create_cluster(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    """Idempotent, as ECS's CreateCluster is: an ACTIVE cluster of that name is returned unchanged."""
    name = params.get("clusterName") or DEFAULT_CLUSTER
    account, region = ctx.caller.account, ctx.caller.region
    existing = ctx.tx.get(model.CLUSTER_KIND, account, region, name)
    if existing is not None and existing.doc["status"] == "ACTIVE":
        return {"cluster": describe(ctx, existing)}
    arn = model.cluster_arn(region, account, name)
    doc = {
        "clusterArn": arn,
        "clusterName": name,
        "status": "ACTIVE",
        "tags": params.get("tags") or [],
        "settings": params.get("settings") or [{"name": "containerInsights", "value": "disabled"}],
        "capacityProviders": params.get("capacityProviders") or [],
        "defaultCapacityProviderStrategy": params.get("defaultCapacityProviderStrategy") or [],
    }
    if params.get("configuration"):
        doc["configuration"] = params["configuration"]
    record = Record(model.CLUSTER_KIND, account, region, name, arn, doc, name)
    # An INACTIVE cluster of this name is still stored (ECS keeps deleted clusters describable for a while);
    # recreating the name reactivates that row in place rather than inserting a second one.
    record.seq = existing.seq if existing is not None else 0
    return {"cluster": describe(ctx, ctx.tx.put(record))}


def delete_cluster(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    cluster = ctx.cluster(params["cluster"])
    services = [s for s in _services(ctx, cluster) if s.doc["status"] != "INACTIVE"]
    if services:
        raise ClusterContainsServicesException(
            "The Cluster cannot be deleted while Services are active. Delete its services "
            f"({', '.join(s.doc['serviceName'] for s in services)}) first."
        )
    if any(t.doc["lastStatus"] != "STOPPED" for t in _tasks(ctx, cluster)):
        raise ClusterContainsTasksException("The Cluster cannot be deleted while Tasks are active. Stop them first.")
    cluster.doc["status"] = "INACTIVE"
    ctx.tx.put(cluster)
    return {"cluster": describe(ctx, cluster)}


def describe_clusters(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    """Unknown clusters are `failures` with reason MISSING, not an error (ECS API reference DescribeClusters)."""
    clusters, failures = [], []
    for identifier in params.get("clusters") or [DEFAULT_CLUSTER]:
        name = identifier.rsplit("/", 1)[-1]
        record = ctx.tx.get(model.CLUSTER_KIND, ctx.caller.account, ctx.caller.region, name)
        if record is None:
            arn = identifier if identifier.startswith("arn:") else ctx.arn("cluster", name)
            failures.append({"arn": arn, "reason": "MISSING"})
        else:
            clusters.append({**describe(ctx, record), **tags_of(record.doc, params)})
    return {"clusters": clusters, "failures": failures}


def list_clusters(ctx: EcsCtx, params: dict[str, Any]) -> dict[str, Any]:
    records = ctx.tx.find(model.CLUSTER_KIND, ctx.caller.account, ctx.caller.region)
    arns = [r.doc["clusterArn"] for r in records if r.doc["status"] == "ACTIVE"]
    found = page_of(arns, params)
    return {"clusterArns": found.pop("items"), **found}


def describe(ctx: EcsCtx, cluster: Record) -> dict[str, Any]:
    """The Cluster shape with its live counts."""
    tasks = _tasks(ctx, cluster)
    services = [s for s in _services(ctx, cluster) if s.doc["status"] == "ACTIVE"]
    return {
        **{k: v for k, v in cluster.doc.items() if k != "tags"},
        "registeredContainerInstancesCount": 0,
        "runningTasksCount": sum(1 for t in tasks if t.doc["lastStatus"] == "RUNNING"),
        "pendingTasksCount": sum(1 for t in tasks if t.doc["lastStatus"] in ("PROVISIONING", "PENDING")),
        "activeServicesCount": len(services),
        "statistics": [],
    }


def _services(ctx: EcsCtx, cluster: Record) -> list[Record]:
    return ctx.tx.find(model.SERVICE_KIND, ctx.caller.account, ctx.caller.region, parent=cluster.id)


def _tasks(ctx: EcsCtx, cluster: Record) -> list[Record]:
    return ctx.tx.find(model.TASK_KIND, ctx.caller.account, ctx.caller.region, parent=cluster.id)
