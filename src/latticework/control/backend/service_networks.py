"""Service network operations: create, get, list, update (authType only), delete (blocked by associations,
cascading to the auth policy, resource policy and access log subscriptions, as the API reference says)."""

from __future__ import annotations

from typing import Any

from latticework.control.backend._context import Ctx, delete_attachments, pick
from latticework.control.backend._paging import page
from latticework.control.errors import ConflictException
from latticework.control.store import Record

__all__ = [
    "create_service_network",
    "delete_service_network",
    "get_service_network",
    "list_service_networks",
    "update_service_network",
]

# The associations that keep a service network from being deleted (kind, what to tell the user).
_DEPENDENTS = (
    ("snsa", "service associations"),
    ("snva", "VPC associations"),
    ("snra", "resource configuration associations"),
)


def create_service_network(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    ctx.require_unique_name("servicenetwork", name)
    ctx.check_quota("service_networks_per_region", ctx.count("servicenetwork"), "SERVICE_NETWORK")
    doc = {"authType": params.get("authType", "NONE"), "tags": params.get("tags") or {}}
    if params.get("sharingConfig") is not None:
        doc["sharingConfig"] = params["sharingConfig"]
    record = ctx.tx.put(ctx.new_record("servicenetwork", doc, name=name))
    return pick(record.doc, "arn", "authType", "id", "name", "sharingConfig")


def get_service_network(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("servicenetwork", params["serviceNetworkIdentifier"])
    return {
        **pick(record.doc, "arn", "authType", "createdAt", "id", "lastUpdatedAt", "name", "sharingConfig"),
        **_counts(ctx, record, resources=False),
    }


def list_service_networks(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    def item(record: Record) -> dict[str, Any]:
        return {**pick(record.doc, "arn", "createdAt", "id", "lastUpdatedAt", "name"), **_counts(ctx, record)}

    return page(ctx, "ListServiceNetworks", params, "servicenetwork", item)


def update_service_network(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("servicenetwork", params["serviceNetworkIdentifier"])
    record.doc["authType"] = params["authType"]
    ctx.touch(record)
    return pick(record.doc, "arn", "authType", "id", "name")


def delete_service_network(ctx: Ctx, params: dict[str, Any]) -> None:
    record = ctx.resolve("servicenetwork", params["serviceNetworkIdentifier"])
    for kind, label in _DEPENDENTS:
        if ctx.count(kind, parent=record.id):
            raise ConflictException(
                f"Service network {record.id} still has {label}. Delete them first, then the service network.",
                "SERVICE_NETWORK",
                record.id,
            )
    delete_attachments(ctx, record)
    ctx.tx.delete(record)


def _counts(ctx: Ctx, record: Record, *, resources: bool = True) -> dict[str, int]:
    counts = {
        "numberOfAssociatedServices": ctx.count("snsa", parent=record.id),
        "numberOfAssociatedVPCs": ctx.count("snva", parent=record.id),
    }
    if resources:
        counts["numberOfAssociatedResourceConfigurations"] = ctx.count("snra", parent=record.id)
    return counts
