"""Target group operations: create, get, list (filters vpcIdentifier, targetGroupType), update (health check
only), delete (refused while a listener or rule forwards to the group, or while it is being created; deletes
its targets).

Record: kind "targetgroup", name, ref = the VPC id (none for LAMBDA groups), doc {type, config?, status, tags}.
`config` holds exactly what AWS returns: IP/INSTANCE groups carry the completed health check, ALB groups none,
LAMBDA groups only `lambdaEventStructureVersion` when it was given (the Lambda event version is V1 when
absent). Which services use a group comes from the tgref records the listener and rule operations keep
(parent = target group id), read here for serviceArns and delete conflicts.
"""

from __future__ import annotations

from typing import Any

from latticework.control.backend._context import Ctx, pick
from latticework.control.backend._health_config import resolve_health_check
from latticework.control.backend._paging import page
from latticework.control.errors import ConflictException, FieldError, ResourceNotFoundException, ValidationException
from latticework.control.store import Record

__all__ = [
    "build_config",
    "create_target_group",
    "delete_target_group",
    "get_target_group",
    "list_target_groups",
    "service_arns",
    "update_target_group",
]

# TargetGroupConfig members each type takes (API reference TargetGroupConfig: "Not supported if the target group
# type is LAMBDA", healthCheck "Not supported if the target group type is LAMBDA or ALB", ipAddressType
# "Supported only if the target group type is IP", lambdaEventStructureVersion "Supported only if ... LAMBDA").
_TRAFFIC = ("port", "protocol", "protocolVersion", "vpcIdentifier")
_MEMBERS: dict[str, tuple[str, ...]] = {
    "IP": (*_TRAFFIC, "ipAddressType", "healthCheck"),
    "INSTANCE": (*_TRAFFIC, "healthCheck"),
    "ALB": _TRAFFIC,
    "LAMBDA": ("lambdaEventStructureVersion",),
}
_DEFAULT_PORTS = {"HTTP": 80, "HTTPS": 443}  # API reference TargetGroupConfig.port
_SUMMARY_CONFIG = ("port", "protocol", "ipAddressType", "vpcIdentifier", "lambdaEventStructureVersion")


def create_target_group(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    name, kind = params["name"], params["type"]
    config = build_config(kind, params.get("config") or {})
    ctx.require_unique_name("targetgroup", name)
    ctx.check_quota("target_groups_per_region", ctx.count("targetgroup"), "TARGET_GROUP")
    vpc = config.get("vpcIdentifier")
    if vpc is not None and ctx.lookup("vpc", vpc) is None:
        raise ResourceNotFoundException(
            "VPC", vpc, f"VPC '{vpc}' was not found in this account and Region. Create it (EC2 CreateVpc) first."
        )
    doc = ctx.provisioning({"type": kind, "tags": params.get("tags") or {}})
    if config:
        doc["config"] = config
    record = ctx.tx.put(ctx.new_record("targetgroup", doc, name=name, ref=vpc))
    return pick(record.doc, "arn", "config", "id", "name", "status", "type")


def get_target_group(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("targetgroup", params["targetGroupIdentifier"])
    fields = ("arn", "config", "createdAt", "failureCode", "failureMessage", "id", "lastUpdatedAt", "name", "type")
    return {**pick(record.doc, *fields), "serviceArns": service_arns(ctx, record), "status": ctx.status(record)}


def list_target_groups(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    wanted_type = params.get("targetGroupType")

    def item(record: Record) -> dict[str, Any]:
        return {
            **pick(record.doc, "arn", "createdAt", "id", "lastUpdatedAt", "name", "type"),
            **pick(record.doc.get("config", {}), *_SUMMARY_CONFIG),
            "serviceArns": service_arns(ctx, record),
            "status": ctx.status(record),
        }

    def keep(record: Record) -> bool:
        return wanted_type is None or record.doc["type"] == wanted_type

    return page(ctx, "ListTargetGroups", params, "targetgroup", item, keep=keep, ref=params.get("vpcIdentifier"))


def update_target_group(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Only the health check changes (API reference UpdateTargetGroup); it is merged over the current one."""
    record = ctx.resolve("targetgroup", params["targetGroupIdentifier"])
    kind = record.doc["type"]
    if kind in ("LAMBDA", "ALB"):
        raise ValidationException.field(
            "healthCheck",
            f"{kind} target groups have no health check to update (health checks are not supported for LAMBDA "
            "or ALB target groups), and nothing else of a target group can change.",
        )
    config = record.doc["config"]
    config["healthCheck"] = resolve_health_check(
        config["healthCheck"], params["healthCheck"], config["protocol"], config.get("protocolVersion"), "healthCheck"
    )
    ctx.touch(record)
    return {**pick(record.doc, "arn", "config", "id", "name", "type"), "status": ctx.status(record)}


def delete_target_group(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("targetgroup", params["targetGroupIdentifier"])
    # API reference DeleteTargetGroup: "You can't delete a target group if it is used in a listener rule or if
    # the target group creation is in progress."
    ctx.require_settled(record, "TARGET_GROUP", "Target group")
    users = service_arns(ctx, record)
    if users:
        raise ConflictException(
            f"Target group {record.id} is used by listener rules of {', '.join(users)}. Change those rules and "
            "default actions to forward elsewhere (or delete them), then delete the target group.",
            "TARGET_GROUP",
            record.id,
        )
    for target in ctx.find("target", parent=record.id):
        ctx.tx.delete(target)
    ctx.tx.delete(record)
    return {**pick(record.doc, "arn", "id"), "status": "DELETE_IN_PROGRESS"}


def service_arns(ctx: Ctx, group: Record) -> list[str]:
    """The distinct services whose listeners or rules forward to the group, in the order they started to."""
    return list(dict.fromkeys(ref.doc["serviceArn"] for ref in ctx.find("tgref", parent=group.id)))


# -- the configuration a new target group gets (pure) ----------------------------------------------------------


def build_config(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    """The stored `config` of a new target group of type `kind`: checked against what the type takes, with
    AWS's defaults filled in. Raises ValidationException naming every offending member.

    Deviation, where AWS's documents leave it open: for IP, INSTANCE and ALB groups `config` with `protocol`
    and `vpcIdentifier` is required, and `port` too for TCP (no default); TCP groups take no protocolVersion.
    """
    errors = _unsupported(kind, given)
    if kind == "LAMBDA":
        if errors:
            raise ValidationException.from_fields(errors)
        return pick(given, "lambdaEventStructureVersion")
    errors.extend(_traffic_problems(kind, given))
    if errors:
        raise ValidationException.from_fields(errors)
    config = _traffic_config(kind, given)
    if kind in ("IP", "INSTANCE"):
        config["healthCheck"] = resolve_health_check(
            {}, given.get("healthCheck") or {}, config["protocol"], config.get("protocolVersion"), "config.healthCheck"
        )
    return config


def _unsupported(kind: str, given: dict[str, Any]) -> list[FieldError]:
    allowed = _MEMBERS[kind]
    return [
        FieldError(f"config.{member}", f"{member} is not supported for {kind} target groups; leave it out.")
        for member, value in given.items()
        if value is not None and member not in allowed
    ]


def _traffic_problems(kind: str, given: dict[str, Any]) -> list[FieldError]:
    protocol, version = given.get("protocol"), given.get("protocolVersion")
    errors = [
        FieldError(f"config.{member}", f"{kind} target groups need config.{member}.")
        for member in ("protocol", "vpcIdentifier")
        if given.get(member) is None
    ]
    if protocol == "TCP" and given.get("port") is None:
        errors.append(FieldError("config.port", "TCP target groups need config.port: there is no default port."))
    if protocol == "TCP" and version is not None:
        errors.append(FieldError("config.protocolVersion", "protocolVersion applies to HTTP and HTTPS only."))
    if kind == "ALB" and version in ("HTTP2", "GRPC"):
        # Reference 1.8: GRPC and HTTP2 target groups must be of type INSTANCE or IP.
        errors.append(FieldError("config.protocolVersion", f"{version} target groups must be of type IP or INSTANCE."))
    return errors


def _traffic_config(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    protocol = given["protocol"]
    config: dict[str, Any] = {
        "port": given.get("port") or _DEFAULT_PORTS[protocol],
        "protocol": protocol,
        "vpcIdentifier": given["vpcIdentifier"],
    }
    if protocol != "TCP":
        config["protocolVersion"] = given.get("protocolVersion") or "HTTP1"
    if kind == "IP":
        config["ipAddressType"] = given.get("ipAddressType") or "IPV4"
    return config
