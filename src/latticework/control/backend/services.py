"""Service operations. A service gets its generated DNS name at creation; deleting it is refused while it is
associated with a service network and cascades to its listeners, rules, auth policy, resource policy and
access log subscriptions (API reference, DeleteService)."""

from __future__ import annotations

from typing import Any

from latticework.control.backend._context import Ctx, delete_attachments, pick
from latticework.control.backend._kinds import dns_name, hosted_zone_id
from latticework.control.backend._paging import page
from latticework.control.errors import ConflictException, ValidationException
from latticework.control.store import Record

__all__ = ["create_service", "delete_service", "get_service", "list_services", "update_service"]

DEFAULT_IDLE_TIMEOUT = 60


def create_service(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    ctx.require_unique_name("service", name)
    ctx.check_quota("services_per_region", ctx.count("service"), "SERVICE")
    _check_certificate(params)
    doc = ctx.provisioning(
        {
            "authType": params.get("authType", "NONE"),
            "customDomainName": params.get("customDomainName"),
            "certificateArn": params.get("certificateArn") or None,
            "idleTimeoutSeconds": params.get("idleTimeoutSeconds", DEFAULT_IDLE_TIMEOUT),
            "tags": params.get("tags") or {},
        }
    )
    record = ctx.new_record("service", doc, name=name)
    record.doc["dnsEntry"] = {
        "domainName": dns_name(name, record.id, ctx.caller.account, ctx.caller.region),
        "hostedZoneId": hosted_zone_id(ctx.caller.region),
    }
    ctx.tx.put(record)
    return pick(
        record.doc,
        "arn",
        "authType",
        "certificateArn",
        "customDomainName",
        "dnsEntry",
        "id",
        "name",
        "status",
    )


def get_service(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("service", params["serviceIdentifier"])
    return {
        **pick(
            record.doc,
            "arn",
            "authType",
            "certificateArn",
            "createdAt",
            "customDomainName",
            "dnsEntry",
            "failureCode",
            "failureMessage",
            "id",
            "idleTimeoutSeconds",
            "lastUpdatedAt",
            "name",
        ),
        "status": ctx.status(record),
    }


def list_services(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    def item(record: Record) -> dict[str, Any]:
        fields = ("arn", "createdAt", "customDomainName", "dnsEntry", "id", "lastUpdatedAt", "name")
        return {**pick(record.doc, *fields), "status": ctx.status(record)}

    return page(ctx, "ListServices", params, "service", item)


def update_service(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("service", params["serviceIdentifier"])
    _check_certificate({**record.doc, **params})
    for member in ("certificateArn", "authType", "idleTimeoutSeconds"):
        if params.get(member) is not None:
            record.doc[member] = params[member] or None
    ctx.touch(record)
    return pick(
        record.doc,
        "arn",
        "authType",
        "certificateArn",
        "customDomainName",
        "id",
        "idleTimeoutSeconds",
        "name",
    )


def delete_service(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("service", params["serviceIdentifier"])
    ctx.require_settled(record, "SERVICE", "Service")
    if ctx.count("snsa", ref=record.id):
        raise ConflictException(
            f"Service {record.id} is associated with a service network. Delete the service network service "
            "association first.",
            "SERVICE",
            record.id,
        )
    for listener in ctx.find("listener", parent=record.id):
        for rule in ctx.find("rule", parent=listener.id):
            ctx.tx.delete(rule)
        ctx.tx.delete(listener)
    for reference in ctx.find("tgref", ref=record.id):
        ctx.tx.delete(reference)
    delete_attachments(ctx, record)
    ctx.tx.delete(record)
    return {**pick(record.doc, "arn", "id", "name"), "status": "DELETE_IN_PROGRESS"}


def _check_certificate(params: dict[str, Any]) -> None:
    # User Guide "Custom domain names": a certificate is only meaningful with a custom domain name.
    if params.get("certificateArn") and not params.get("customDomainName"):
        raise ValidationException.field(
            "certificateArn",
            "A certificateArn needs a customDomainName: the certificate is served for the custom domain.",
        )
