"""CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup, DeleteTargetGroup: instance and ip target groups
for ALBs, HTTP or HTTPS, with ELBv2's health-check defaults stored in full (ELB UG "Health checks for
Application Load Balancer target groups": protocol = the group's, port traffic-port, path /, interval 30 s,
timeout 5 s, healthy threshold 5, unhealthy threshold 2, matcher 200). No I/O of its own.
"""

from __future__ import annotations

import re
from typing import Any

from latticework.control.elbv2._context import ElbCtx, tags_of
from latticework.control.elbv2.errors import ElbError, not_found, validation
from latticework.control.store import Record
from latticework.dataplane.alb import names

__all__ = ["create_target_group", "delete_target_group", "describe_target_groups", "modify_target_group"]

_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?")
_MATCHER = re.compile(r"\d{3}(?:-\d{3})?(?:,\d{3}(?:-\d{3})?)*")
_DEFAULTS = {
    "HealthCheckPort": "traffic-port",
    "HealthCheckEnabled": True,
    "HealthCheckPath": "/",
    "HealthCheckIntervalSeconds": 30,
    "HealthCheckTimeoutSeconds": 5,
    "HealthyThresholdCount": 5,
    "UnhealthyThresholdCount": 2,
    "Matcher": {"HttpCode": "200"},
}
_CHECK_MEMBERS = (*_DEFAULTS, "HealthCheckProtocol")
# Settings that make a second CreateTargetGroup with the same name the same group (the call is idempotent).
_IDENTITY = ("Protocol", "Port", "VpcId", "TargetType")


def create_target_group(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    name = params["Name"]
    if not _NAME.fullmatch(name):
        raise validation(f"Target group name '{name}' must be 1-32 letters, digits or hyphens, not starting or "
                         "ending with a hyphen.")  # fmt: skip
    kind = params.get("TargetType") or "instance"
    if kind not in ("instance", "ip"):
        raise validation(f"Target type '{kind}' is not supported by Latticework's ELBv2; use instance or ip.")
    for member in ("Protocol", "Port", "VpcId"):
        if params.get(member) is None:
            raise validation(f"{member} is required for a target group of type '{kind}'.")
    _check_protocol(params["Protocol"], "Protocol")
    if not ctx.find("vpc") or params["VpcId"] not in {v.id for v in ctx.find("vpc")}:
        raise validation(f"The VPC ID '{params['VpcId']}' is not found.")
    doc = _completed(params, kind)
    existing = ctx.find(names.TARGET_GROUP_KIND, name=name)
    if existing:
        if any(existing[0].doc.get(k) != doc.get(k) for k in _IDENTITY):
            raise ElbError("DuplicateTargetGroupName", f"A target group with the name '{name}' already exists.")
        return {"TargetGroups": [_public(ctx, existing[0])]}
    tg_id = names.new_id()
    doc["TargetGroupArn"] = arn = ctx.arn(f"targetgroup/{name}/{tg_id}")
    record = Record(names.TARGET_GROUP_KIND, ctx.caller.account, ctx.caller.region, tg_id, arn, doc, name=name)
    ctx.tx.put(record)
    return {"TargetGroups": [_public(ctx, record)]}


def _completed(params: dict[str, Any], kind: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "TargetGroupName": params["Name"],
        "Protocol": params["Protocol"],
        "Port": params["Port"],
        "VpcId": params["VpcId"],
        "TargetType": kind,
        "ProtocolVersion": params.get("ProtocolVersion") or "HTTP1",
        "IpAddressType": params.get("IpAddressType") or "ipv4",
        "HealthCheckProtocol": params.get("HealthCheckProtocol") or params["Protocol"],
        "_tags": tags_of(params),
    }
    for member, default in _DEFAULTS.items():
        doc[member] = params.get(member, default)
    _check_health(doc)
    return doc


def _check_protocol(protocol: str, member: str) -> None:
    if protocol not in ("HTTP", "HTTPS"):
        raise ElbError("UnsupportedProtocol", f"{member} '{protocol}' is not supported by an ALB; use HTTP or HTTPS.")


def _check_health(doc: dict[str, Any]) -> None:
    """ELBv2's ranges: interval 5-300, timeout 2-120 and below the interval, thresholds 2-10, path from '/'."""
    _check_protocol(doc["HealthCheckProtocol"], "HealthCheckProtocol")
    interval, timeout = doc["HealthCheckIntervalSeconds"], doc["HealthCheckTimeoutSeconds"]
    if not 5 <= interval <= 300 or not 2 <= timeout <= 120:
        raise validation("HealthCheckIntervalSeconds must be 5-300 and HealthCheckTimeoutSeconds 2-120.")
    if timeout >= interval:
        raise validation("Health check timeout must be smaller than the interval.")
    for member in ("HealthyThresholdCount", "UnhealthyThresholdCount"):
        if not 2 <= doc[member] <= 10:
            raise validation(f"{member} must be between 2 and 10.")
    if not str(doc["HealthCheckPath"]).startswith("/"):
        raise validation("HealthCheckPath must start with '/'.")
    port = str(doc["HealthCheckPort"])
    if port != "traffic-port" and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise validation("HealthCheckPort must be 'traffic-port' or a port number 1-65535.")
    if not _MATCHER.fullmatch((doc["Matcher"] or {}).get("HttpCode") or ""):
        raise validation("Matcher.HttpCode must be codes like 200, 200,202 or 200-299.")


def describe_target_groups(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    arns, wanted, lb_arn = params.get("TargetGroupArns"), params.get("Names"), params.get("LoadBalancerArn")
    if sum(bool(x) for x in (arns, wanted, lb_arn)) > 1:
        raise validation("Give at most one of LoadBalancerArn, TargetGroupArns and Names.")
    if arns:
        found = [ctx.get(names.TARGET_GROUP_KIND, arn) for arn in arns]
    elif wanted:
        found = [_by_name(ctx, name) for name in wanted]
    else:
        found = ctx.find(names.TARGET_GROUP_KIND)
        if lb_arn:
            ctx.get(names.LB_KIND, lb_arn)
            found = [r for r in found if lb_arn in load_balancers_using(ctx, r.arn)]
    return {"TargetGroups": [_public(ctx, r) for r in found]}


def _by_name(ctx: ElbCtx, name: str) -> Record:
    records = ctx.find(names.TARGET_GROUP_KIND, name=name)
    if not records:
        raise not_found("targetgroup", name)
    return records[0]


def modify_target_group(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.get(names.TARGET_GROUP_KIND, params["TargetGroupArn"])
    for member in _CHECK_MEMBERS:
        if member in params:
            record.doc[member] = params[member]
    _check_health(record.doc)
    ctx.tx.put(record)
    return {"TargetGroups": [_public(ctx, record)]}


def delete_target_group(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    """ResourceInUse while a listener or rule forwards to it (API reference, DeleteTargetGroup)."""
    record = ctx.tx.get_by_arn(params["TargetGroupArn"])
    if record is None or record.kind != names.TARGET_GROUP_KIND:
        return {}
    if ctx.rules_forwarding_to(record.arn):
        raise ElbError("ResourceInUse", f"Target group '{record.arn}' is currently in use by a listener or a rule")
    for target in ctx.find(names.TARGET_KIND, parent=record.id):
        ctx.tx.delete(target)
    ctx.tx.delete(record)
    return {}


def load_balancers_using(ctx: ElbCtx, group_arn: str) -> list[str]:
    """The ALBs some rule of whose listeners forwards to the group (TargetGroup.LoadBalancerArns)."""
    listeners = {r.id: r for r in ctx.find(names.LISTENER_KIND)}
    found = []
    for rule in ctx.rules_forwarding_to(group_arn):
        listener = listeners.get(rule.parent or "")
        if listener is not None and listener.doc["LoadBalancerArn"] not in found:
            found.append(listener.doc["LoadBalancerArn"])
    return found


def _public(ctx: ElbCtx, record: Record) -> dict[str, Any]:
    doc = {k: v for k, v in record.doc.items() if not k.startswith("_")}
    return {**doc, "LoadBalancerArns": load_balancers_using(ctx, record.arn)}
