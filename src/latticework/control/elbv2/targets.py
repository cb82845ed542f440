"""RegisterTargets, DeregisterTargets, DescribeTargetHealth. Target health is the data plane's (the shared
health checker writes it into the target record in the health machine's vocabulary); this module translates it
into ELBv2's states and reason codes (API reference, TargetHealth): initial / healthy / unhealthy / unused /
draining / unavailable.

Deviations (docs/albs.md): any IP address is accepted for ip groups; an instance ID's address comes from
STATE_DIR/instances.json as for Lattice INSTANCE groups; the deregistration delay is ELBv2's default 300 s
(target group attributes are not in the subset). No I/O of its own.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from latticework.control.elbv2._context import ElbCtx
from latticework.control.elbv2.errors import ElbError
from latticework.control.elbv2.target_groups import load_balancers_using
from latticework.control.store import Record
from latticework.dataplane.alb import names

__all__ = ["deregister_targets", "describe_target_health", "register_targets"]

DEREGISTRATION_DELAY = 300  # ELBv2 target group attribute deregistration_delay.timeout_seconds, its default
_INSTANCE = re.compile(r"i-[0-9a-f]{8}(?:[0-9a-f]{9})?")
# Health machine status -> (ELBv2 state, reason code when the machine gives none).
_STATES = {
    "INITIAL": ("initial", "Elb.InitialHealthChecking"),
    "HEALTHY": ("healthy", None),
    "UNHEALTHY": ("unhealthy", "Target.FailedHealthChecks"),
    "DRAINING": ("draining", "Target.DeregistrationInProgress"),
    "UNAVAILABLE": ("unavailable", "Target.HealthCheckDisabled"),
    "UNUSED": ("unused", "Target.NotInUse"),
}
_DESCRIPTIONS = {
    "Elb.InitialHealthChecking": "Initial health checks in progress",
    "Target.FailedHealthChecks": "Health checks failed",
    "Target.ResponseCodeMismatch": "Health checks failed with these codes",
    "Target.Timeout": "Request timed out",
    "Target.DeregistrationInProgress": "Target deregistration is in progress",
    "Target.HealthCheckDisabled": "Health checks are disabled",
    "Target.NotInUse": "Target group is not configured to receive traffic from the load balancer",
    "Target.NotRegistered": "Target is not registered to the target group",
}


def register_targets(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    group = ctx.get(names.TARGET_GROUP_KIND, params["TargetGroupArn"])
    for target in params["Targets"]:
        port = int(target.get("Port") or group.doc["Port"])
        _check_target(group, target["Id"], port)
        key = f"{group.id}/{target['Id']}:{port}"
        existing = ctx.tx.get(names.TARGET_KIND, group.account, group.region, key)
        if existing is not None and existing.doc.get("status") != "DRAINING":
            continue  # registering a registered target changes nothing
        doc = {"Id": target["Id"], "Port": port, "status": "INITIAL", "_registeredAt": ctx.now}
        if target.get("AvailabilityZone"):
            doc["AvailabilityZone"] = target["AvailabilityZone"]
        arn = f"{group.arn}/{target['Id']}:{port}"
        ctx.tx.put(Record(names.TARGET_KIND, group.account, group.region, key, arn, doc, parent=group.id))
    return {}


def _check_target(group: Record, target_id: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise ElbError("InvalidTarget", f"Port {port} of target {target_id} must be between 1 and 65535.")
    if group.doc["TargetType"] == "ip":
        try:
            ipaddress.ip_address(target_id)
        except ValueError:
            raise ElbError("InvalidTarget", f"The IP address '{target_id}' is not a valid IP address.") from None
    elif not _INSTANCE.fullmatch(target_id):
        raise ElbError("InvalidTarget", f"The instance ID '{target_id}' is not valid.")


def deregister_targets(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    group = ctx.get(names.TARGET_GROUP_KIND, params["TargetGroupArn"])
    for target in params["Targets"]:
        port = int(target.get("Port") or group.doc["Port"])
        record = ctx.tx.get(names.TARGET_KIND, group.account, group.region, f"{group.id}/{target['Id']}:{port}")
        if record is None or _gone(record, ctx.now):
            raise ElbError("InvalidTarget", f"Target {target['Id']}:{port} is not registered in {group.arn}.")
        if record.doc.get("status") != "DRAINING":
            record.doc.update(status="DRAINING", _drainingUntil=ctx.now + DEREGISTRATION_DELAY)
            record.doc.pop("reasonCode", None)
            ctx.tx.put(record)
    return {}


def _gone(record: Record, now: float) -> bool:
    return record.doc.get("status") == "DRAINING" and now >= record.doc.get("_drainingUntil", 0)


def describe_target_health(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    group = ctx.get(names.TARGET_GROUP_KIND, params["TargetGroupArn"])
    registered = {f"{r.doc['Id']}:{r.doc['Port']}": r for r in ctx.find(names.TARGET_KIND, parent=group.id)}
    used = bool(load_balancers_using(ctx, group.arn))
    wanted = params.get("Targets")
    if wanted is None:
        keys = [k for k, r in registered.items() if not _gone(r, ctx.now)]
    else:
        keys = [f"{t['Id']}:{int(t.get('Port') or group.doc['Port'])}" for t in wanted]
    return {"TargetHealthDescriptions": [_description(group, key, registered.get(key), used, ctx.now) for key in keys]}


def _description(group: Record, key: str, record: Record | None, used: bool, now: float) -> dict[str, Any]:
    target_id, port = key.rsplit(":", 1)
    reason: str | None
    if record is None or _gone(record, now):
        state, reason = "unused", "Target.NotRegistered"
    else:
        status = record.doc.get("status", "INITIAL")
        if not used and status != "DRAINING":
            status = "UNUSED"
        state, default_reason = _STATES.get(status, ("unavailable", None))
        reason = _elb_reason(record.doc.get("reasonCode")) or default_reason
    health: dict[str, Any] = {"State": state}
    if reason:
        health.update(Reason=reason, Description=_DESCRIPTIONS.get(reason, reason))
    check_port = group.doc.get("HealthCheckPort") or "traffic-port"
    return {
        "Target": {"Id": target_id, "Port": int(port)},
        "HealthCheckPort": port if check_port == "traffic-port" else str(check_port),
        "TargetHealth": health,
    }


def _elb_reason(code: str | None) -> str | None:
    """The health machine's reason in ELBv2's words (it already uses ELB's codes but one)."""
    return "Target.ResponseCodeMismatch" if code == "HealthCheckFailed" else code
