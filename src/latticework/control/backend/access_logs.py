"""Access log subscriptions: create, get, list, update (destinationArn only) and delete, for a service network,
service or resource configuration; plus the pure classification of a destination ARN.

A subscription is kind "accesslogsubscription" with parent = the id of the resource it logs, so deleting that
resource deletes it (`delete_attachments`). Nothing is delivered from here: the data plane reads the
subscriptions and writes the log records.
"""

from __future__ import annotations

import re
from typing import Any

from latticework.control.backend._context import Ctx, pick
from latticework.control.backend._paging import page
from latticework.control.backend.tags import check_tags
from latticework.control.errors import ConflictException, ResourceNotFoundException, ValidationException
from latticework.control.store import Record

__all__ = [
    "create_access_log_subscription",
    "delete_access_log_subscription",
    "get_access_log_subscription",
    "list_access_log_subscriptions",
    "update_access_log_subscription",
]

_OWNER_KINDS = ("servicenetwork", "service", "resourceconfiguration")
_PARTITION = r"arn:aws(?:-[a-z]+)*"
# API reference, CreateAccessLogSubscription: "The supported destination types are CloudWatch Log groups, Kinesis
# Data Firehose delivery streams, and Amazon S3 buckets." Name rules: CloudWatch Logs (log group names are
# 1-512 of a-z A-Z 0-9 _ - / . #), S3 (bucket names are 3-63 of a-z 0-9 . -), Firehose (stream names are 1-64
# of a-z A-Z 0-9 _ . -). An S3 destination may carry a key prefix: the User Guide's S3 key format is
# "bucket/prefix/AWSLogs/...".
DESTINATION_TYPES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "CLOUDWATCH_LOGS",
        re.compile(_PARTITION + r":logs:[a-z0-9-]+:\d{12}:log-group:[A-Za-z0-9_./#-]{1,512}(?::\*)?"),
        "arn:aws:logs:REGION:ACCOUNT:log-group:NAME",
    ),
    (
        "S3",
        re.compile(_PARTITION + r":s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?:/\S*)?"),
        "arn:aws:s3:::BUCKET",
    ),
    (
        "FIREHOSE",
        re.compile(_PARTITION + r":firehose:[a-z0-9-]+:\d{12}:deliverystream/[A-Za-z0-9_.-]{1,64}"),
        "arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME",
    ),
)
_LABELS = {"CLOUDWATCH_LOGS": "CloudWatch Logs log group", "S3": "S3 bucket", "FIREHOSE": "Firehose delivery stream"}


def destination_type(arn: str) -> str | None:
    """CLOUDWATCH_LOGS, S3 or FIREHOSE for a destination ARN Lattice can deliver to, else None. Pure."""
    for name, pattern, _ in DESTINATION_TYPES:
        if pattern.fullmatch(arn):
            return name
    return None


def create_access_log_subscription(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Subscribe a resource's access logs to a destination.

    One subscription per destination type per resource (ConflictException otherwise); for a service network
    the rule is per log type, since the User Guide says resource access logs (VpcLatticeResourceAccessLogs)
    "need to be configured separately" from service access logs.
    """
    owner = ctx.resolve_any(params["resourceIdentifier"], _OWNER_KINDS)
    kind = _destination_type(params["destinationArn"])
    log_type = _log_type(owner, params.get("serviceNetworkLogType"))
    check_tags(params.get("tags") or {})
    _refuse_second(ctx, owner.id, kind, log_type)
    doc = {
        "resourceId": owner.id,
        "resourceArn": owner.arn,
        "destinationArn": params["destinationArn"],
        "serviceNetworkLogType": log_type,
        "tags": params.get("tags") or {},
    }
    record = ctx.tx.put(ctx.new_record("accesslogsubscription", doc, parent=owner.id))
    return pick(record.doc, "arn", "destinationArn", "id", "resourceArn", "resourceId", "serviceNetworkLogType")


def get_access_log_subscription(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("accesslogsubscription", params["accessLogSubscriptionIdentifier"])
    return _summary(record)


def list_access_log_subscriptions(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """An unknown resource lists nothing: botocore's model gives this operation no ResourceNotFoundException."""
    try:
        owner = ctx.resolve_any(params["resourceIdentifier"], _OWNER_KINDS)
    except ResourceNotFoundException:
        return {"items": []}
    return page(ctx, "ListAccessLogSubscriptions", params, "accesslogsubscription", _summary, parent=owner.id)


def update_access_log_subscription(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Point the subscription at another destination. The one-per-type rule holds here too: moving it to a type
    that another subscription of the same resource already uses is a ConflictException."""
    record = ctx.resolve("accesslogsubscription", params["accessLogSubscriptionIdentifier"])
    kind = _destination_type(params["destinationArn"])
    _refuse_second(ctx, record.parent or "", kind, record.doc.get("serviceNetworkLogType"), besides=record.id)
    record.doc["destinationArn"] = params["destinationArn"]
    ctx.touch(record)
    return pick(record.doc, "arn", "destinationArn", "id", "resourceArn", "resourceId")


def delete_access_log_subscription(ctx: Ctx, params: dict[str, Any]) -> None:
    ctx.tx.delete(ctx.resolve("accesslogsubscription", params["accessLogSubscriptionIdentifier"]))


def _summary(record: Record) -> dict[str, Any]:
    return pick(
        record.doc,
        "arn",
        "createdAt",
        "destinationArn",
        "id",
        "lastUpdatedAt",
        "resourceArn",
        "resourceId",
        "serviceNetworkLogType",
    )


def _destination_type(arn: str) -> str:
    kind = destination_type(arn)
    if kind is None:
        forms = "; ".join(f"{_LABELS[name]} ({form})" for name, _, form in DESTINATION_TYPES)
        raise ValidationException.field(
            "destinationArn", f"'{arn}' is not a destination Lattice can deliver access logs to. Use one of: {forms}."
        )
    return kind


def _log_type(owner: Record, requested: str | None) -> str | None:
    # API reference, CreateAccessLogSubscription: serviceNetworkLogType is "the type of log that monitors your
    # Amazon VPC Lattice service networks"; SERVICE unless RESOURCE is asked for.
    if owner.kind == "servicenetwork":
        return requested or "SERVICE"
    if requested is not None:
        raise ValidationException.field(
            "serviceNetworkLogType",
            f"serviceNetworkLogType applies to service networks only; {owner.id} is not one. Leave it out.",
        )
    return None


def _refuse_second(ctx: Ctx, owner_id: str, kind: str, log_type: str | None, besides: str | None = None) -> None:
    for other in ctx.find("accesslogsubscription", parent=owner_id):
        same_log_type = other.doc.get("serviceNetworkLogType") == log_type
        if other.id != besides and same_log_type and destination_type(other.doc["destinationArn"]) == kind:
            what = f"{log_type} access logs of " if log_type else ""
            raise ConflictException(
                f"{other.id} already sends {what}{owner_id} to a {_LABELS[kind]}; a resource can have one "
                "subscription per destination type. Update or delete that subscription instead.",
                "ACCESS_LOG_SUBSCRIPTION",
                other.id,
            )
