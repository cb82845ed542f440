"""Target operations: register, deregister and list the targets of a target group.

Record: kind "target", parent = target group id, id = f"{tg_id}/{target_id}:{port}" (the port is empty for
Lambda targets, which have none), doc {id, port?, status, reasonCode?, _drainingUntil?}. Registration stores
the initial status; the data plane's health checker then writes HEALTHY / UNHEALTHY (and reasonCode) into the
same record, and removes DRAINING targets once `_drainingUntil` has passed. What a reader sees is always
`target_status(...)` of the stored status and the group's current state, so a group that stops (or starts)
being used by a service reads UNUSED (or INITIAL) at once.

Reason codes: TargetGroupNotInUse and HealthCheckNotSupported are the ones AWS users report; HealthCheckFailed
is in the CLI examples (the data plane's to write); HealthCheckDisabled and DeregistrationInProgress are ours.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from latticework.control.backend._context import Ctx, pick
from latticework.control.backend._paging import page
from latticework.control.backend.target_groups import service_arns
from latticework.control.store import Record

__all__ = [
    "DRAINING_SECONDS",
    "deregister_targets",
    "health_checks",
    "is_drained",
    "list_targets",
    "register_targets",
    "target_problem",
    "target_status",
]

DRAINING_SECONDS = 60.0  # API reference TargetSummary: "The default draining time is 1 minute."
_SINGLE_TARGET_TYPES = ("LAMBDA", "ALB")  # API reference RegisterTargets; User Guide: one ALB per ALB group
_INSTANCE_ID = re.compile(r"i-(?:[0-9a-f]{8}|[0-9a-f]{17})")
_LAMBDA_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:[A-Za-z0-9_-]{1,64}"
    r"(?::[A-Za-z0-9_$-]{1,128})?"
)
_ALB_ARN = re.compile(
    r"arn:aws[a-z-]*:elasticloadbalancing:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"loadbalancer/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}"
)


def register_targets(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Deviation: any unicast IP address is accepted for IP groups (AWS wants addresses of the VPC's subnets,
    but a local Latticework's targets are usually 127.0.0.1), and instance IDs are checked for shape only."""
    group = ctx.resolve("targetgroup", params["targetGroupIdentifier"])
    registered = {r.id: r for r in _live_targets(ctx, group)}
    successful: list[dict[str, Any]] = []
    unsuccessful: list[dict[str, Any]] = []
    accepted: dict[str, dict[str, Any]] = {}
    serving = [r.doc["id"] for r in registered.values() if r.doc["status"] != "DRAINING"]
    for given in params["targets"]:
        target = _with_port(group, given)
        problem = _problem(ctx, group, target, serving + [t["id"] for t in accepted.values()])
        if problem is None:
            accepted[_key(group, target)] = target
            successful.append(target)
        else:
            unsuccessful.append({**target, "failureCode": problem[0], "failureMessage": problem[1]})
    new = [key for key in accepted if key not in registered]
    if new:
        # One check for the whole request: ServiceQuotaExceededException is among RegisterTargets' errors.
        ctx.check_quota("targets_per_target_group", len(registered) + len(new) - 1, "TARGET", group.id)
    status, reason = target_status(None, used=bool(service_arns(ctx, group)), checks=health_checks(group.doc))
    for key, target in accepted.items():
        record = registered.get(key) or _new_record(ctx, group, key, target)
        if key in new or record.doc["status"] == "DRAINING":  # registering again stops draining
            ctx.tx.put(_with_status(record, status, reason))
    return {"successful": successful, "unsuccessful": unsuccessful}


def deregister_targets(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """A target of a group some service uses goes DRAINING for a minute (the data plane removes it after);
    a target of an unused group is removed at once. A target given without a port means the group's port."""
    group = ctx.resolve("targetgroup", params["targetGroupIdentifier"])
    registered = {r.id: r for r in _live_targets(ctx, group)}
    used = bool(service_arns(ctx, group))
    successful, unsuccessful = [], []
    for given in params["targets"]:
        target = _with_port(group, given)
        record = registered.get(_key(group, target))
        if record is None:
            where = f"{target['id']}:{target['port']}" if "port" in target else target["id"]
            message = f"Target {where} is not registered with target group {group.id}."
            unsuccessful.append({**target, "failureCode": "TargetNotFound", "failureMessage": message})
            continue
        successful.append(target)
        if not used:
            ctx.tx.delete(record)
        elif record.doc["status"] != "DRAINING":
            ctx.tx.put(_with_status(record, "DRAINING", "DeregistrationInProgress", ctx.now + DRAINING_SECONDS))
    return {"successful": successful, "unsuccessful": unsuccessful}


def list_targets(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """All targets, or those matching the filter (a filter entry without a port matches every port)."""
    group = ctx.resolve("targetgroup", params["targetGroupIdentifier"])
    used, checks = bool(service_arns(ctx, group)), health_checks(group.doc)
    wanted = params.get("targets") or []

    def keep(record: Record) -> bool:
        doc = record.doc
        matches = any(w["id"] == doc["id"] and w.get("port") in (None, doc.get("port")) for w in wanted)
        return not is_drained(doc, ctx.now) and (not wanted or matches)

    def item(record: Record) -> dict[str, Any]:
        status, reason = target_status(record.doc, used=used, checks=checks)
        return {**pick(record.doc, "id", "port"), "status": status, "reasonCode": reason}

    return page(ctx, "ListTargets", params, "target", item, keep=keep, parent=group.id)


# -- pure pieces ------------------------------------------------------------------------------------------------


def health_checks(group: dict[str, Any]) -> str:
    """NOT_SUPPORTED for LAMBDA and ALB groups (User Guide, health checks), else ENABLED or DISABLED."""
    if group["type"] in _SINGLE_TARGET_TYPES:
        return "NOT_SUPPORTED"
    return "ENABLED" if group["config"]["healthCheck"]["enabled"] else "DISABLED"


def target_status(target: dict[str, Any] | None, *, used: bool, checks: str) -> tuple[str, str | None]:
    """(status, reasonCode) a reader sees, from the stored target (None: just registered) and its group.

    Model, TargetStatus: DRAINING while deregistering; UNUSED when no service uses the group; UNAVAILABLE when
    health checks are off; INITIAL until the health checker has an answer; then what it wrote.
    """
    stored = target.get("status") if target else None
    if stored == "DRAINING":
        return "DRAINING", "DeregistrationInProgress"
    if not used:
        return "UNUSED", "TargetGroupNotInUse"
    if checks == "NOT_SUPPORTED":
        return "UNAVAILABLE", "HealthCheckNotSupported"
    if checks == "DISABLED":
        return "UNAVAILABLE", "HealthCheckDisabled"
    if target is not None and stored in ("HEALTHY", "UNHEALTHY", "INITIAL"):
        return stored, target.get("reasonCode")
    return "INITIAL", None


def is_drained(target: dict[str, Any], now: float) -> bool:
    """A DRAINING target whose draining time is over: gone for readers, whoever deletes the record."""
    return target.get("status") == "DRAINING" and now >= target.get("_drainingUntil", 0)


def target_problem(
    group_type: str, ip_address_type: str | None, target_id: str, account: str, region: str
) -> tuple[str, str] | None:
    """(failureCode, failureMessage) when `target_id` cannot be a target of this type of group, else None.

    API reference Target.id: an instance ID (INSTANCE), an IP address (IP), a Lambda function ARN (LAMBDA),
    an Application Load Balancer ARN (ALB). Reference 1.8: the Lambda function must be in the same account
    and Region; the same is required here of the load balancer.
    """
    if group_type == "IP":
        return _ip_problem(target_id, ip_address_type or "IPV4")
    if group_type == "INSTANCE":
        if _INSTANCE_ID.fullmatch(target_id):
            return None
        return "UnsupportedTarget", f"'{target_id}' is not an EC2 instance ID (i- and 8 or 17 hex digits)."
    pattern, what = (_LAMBDA_ARN, "a Lambda function ARN") if group_type == "LAMBDA" else (_ALB_ARN, "an ALB ARN")
    found = pattern.fullmatch(target_id)
    if found is None:
        return "UnsupportedTarget", f"'{target_id}' is not {what}; {group_type} target groups take {what}."
    if (found["account"], found["region"]) != (account, region):
        return "UnsupportedTarget", f"{target_id} must be in the target group's account {account} and {region}."
    return None


def _ip_problem(target_id: str, ip_address_type: str) -> tuple[str, str] | None:
    try:
        address = ipaddress.ip_address(target_id)
    except ValueError:
        return "UnsupportedTarget", f"'{target_id}' is not an IP address; IP target groups take IP addresses."
    family = "IPV4" if address.version == 4 else "IPV6"
    if family != ip_address_type:
        return "UnsupportedTarget", f"{target_id} is an {family} address but the target group is {ip_address_type}."
    if address.is_unspecified or address.is_multicast:
        return "UnsupportedTarget", f"{target_id} cannot be a target: use a unicast address of the target."
    return None


# -- helpers ---------------------------------------------------------------------------------------------------


def _problem(ctx: Ctx, group: Record, target: dict[str, Any], serving: list[str]) -> tuple[str, str] | None:
    """Why the target cannot be registered; `serving` are the IDs registered (and not draining) so far."""
    config = group.doc.get("config", {})
    kind = group.doc["type"]
    problem = target_problem(kind, config.get("ipAddressType"), target["id"], ctx.caller.account, ctx.caller.region)
    other = next((o for o in serving if o != target["id"]), None)
    if problem is None and kind in _SINGLE_TARGET_TYPES and other is not None:
        return "TooManyTargets", f"A {kind} target group takes exactly one target and has {other}; deregister it first."
    return problem


def _with_port(group: Record, given: dict[str, Any]) -> dict[str, Any]:
    """The target with its port: the given one, else the group's (Lambda targets have no port)."""
    if group.doc["type"] == "LAMBDA":
        return {"id": given["id"]}
    return {"id": given["id"], "port": given.get("port") or group.doc["config"]["port"]}


def _key(group: Record, target: dict[str, Any]) -> str:
    return f"{group.id}/{target['id']}:{target.get('port', '')}"


def _live_targets(ctx: Ctx, group: Record) -> list[Record]:
    """The group's targets, after deleting those whose draining time is over."""
    live = []
    for record in ctx.find("target", parent=group.id):
        if is_drained(record.doc, ctx.now):
            ctx.tx.delete(record)
        else:
            live.append(record)
    return live


def _with_status(record: Record, status: str, reason: str | None, draining_until: float | None = None) -> Record:
    fields = {"status": status, "reasonCode": reason, "_drainingUntil": draining_until}
    record.doc.update({k: v for k, v in fields.items() if v is not None})
    for name in [k for k, v in fields.items() if v is None]:
        record.doc.pop(name, None)
    return record


def _new_record(ctx: Ctx, group: Record, key: str, target: dict[str, Any]) -> Record:
    doc = {**target, "status": None}
    arn = f"{group.arn}/target/{target['id']}:{target.get('port', '')}"
    return Record("target", ctx.caller.account, ctx.caller.region, key, arn, doc, parent=group.id)
