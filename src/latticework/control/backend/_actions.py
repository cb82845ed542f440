"""Rule actions shared by listeners (the default action) and rules: what an action may say, which target groups
it may forward to, and the `tgref` records that tell target groups which service uses them.

The checks follow the API reference and User Guide (reference 1.5, 1.8). Pure functions first (weights, fixed
responses, protocol fit, priority settling for BatchUpdateRule), then the few that read or write through a
`Ctx`. Nothing here touches the network or the clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from latticework.control.backend._context import Ctx
from latticework.control.errors import ConflictException, ValidationException
from latticework.control.store import Record

__all__ = [
    "SOLE_TARGET_GROUP_WEIGHT",
    "check_target_group_quota",
    "checked_action",
    "drop_tgrefs",
    "fixed_response_problem",
    "protocol_problem",
    "sync_tgrefs",
    "target_group_ids",
    "unsettled_priorities",
    "weighted",
]

# API reference, WeightedTargetGroup: "If there's only one target group specified, then the default value is 100."
SOLE_TARGET_GROUP_WEIGHT = 100

# API reference, FixedResponseAction: "Only 404 and 500 status codes are supported."
FIXED_RESPONSE_CODES = (404, 500)


# -- pure checks --------------------------------------------------------------------------------------------


def weighted(target_groups: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    """The forward action's target groups with weights filled in; a weight is needed only when there are several.

    Deviation: a target group listed twice in one action is refused (the tgref bookkeeping is one per pair).
    """
    # API reference, WeightedTargetGroup.weight: "Only required if you specify multiple target groups".
    if len(target_groups) > 1:
        for i, group in enumerate(target_groups):
            if group.get("weight") is None:
                raise ValidationException.field(
                    f"{field}.forward.targetGroups.{i}.weight",
                    "A weight is required for each target group when a forward action has more than one.",
                )
    return [
        {"targetGroupIdentifier": g["targetGroupIdentifier"], "weight": g.get("weight", SOLE_TARGET_GROUP_WEIGHT)}
        for g in target_groups
    ]


def fixed_response_problem(status_code: int) -> str | None:
    """Why a fixed-response status code is refused, or None when it is accepted."""
    if status_code in FIXED_RESPONSE_CODES:
        return None
    return (
        f"Status code {status_code} is not supported for a fixed response: only 404 and 500 status codes are supported."
    )


def protocol_problem(listener_protocol: str, target_group: Mapping[str, Any]) -> str | None:
    """Why a listener of this protocol cannot forward to this target group (its API document), or None."""
    config = target_group.get("config") or {}
    protocol = config.get("protocol")
    version = config.get("protocolVersion") or "HTTP1"
    name = target_group.get("id", "the target group")
    if listener_protocol == "TLS_PASSTHROUGH":
        # User Guide "TLS listeners": "The default action for a TLS listener must be a forward action to a TCP
        # target group."
        if protocol != "TCP":
            return f"Target group {name} is not a TCP target group; a TLS_PASSTHROUGH listener forwards to TCP only."
        return None
    if protocol == "TCP":
        # User Guide "Target groups": a TCP target group needs a TLS listener.
        return f"Target group {name} uses protocol TCP, which needs a TLS_PASSTHROUGH listener."
    if version in ("HTTP2", "GRPC") and listener_protocol != "HTTPS":
        # User Guide "Protocol version": HTTP2 and GRPC target groups are supported with HTTPS listeners only.
        return f"Target group {name} uses protocol version {version}, which needs an HTTPS listener."
    return None


def target_group_ids(action: Mapping[str, Any] | None) -> list[str]:
    """The target groups a stored action forwards to, in order."""
    forward = (action or {}).get("forward") or {}
    return [g["targetGroupIdentifier"] for g in forward.get("targetGroups") or []]


def unsettled_priorities(current: Mapping[str, int | None], proposed: Mapping[str, int]) -> set[str]:
    """The proposals (rule ID -> new priority) that cannot apply because the listener would end with two rules
    at one priority. The final state is what counts, so two rules may swap priorities in one batch."""
    accepted = {rule: p for rule, p in proposed.items() if current.get(rule) != p}
    while True:
        holders: dict[int, list[str]] = defaultdict(list)
        for rule, priority in {**current, **accepted}.items():
            if priority is not None:
                holders[priority].append(rule)
        clashing = {rule for rules in holders.values() if len(rules) > 1 for rule in rules if rule in accepted}
        if not clashing:
            return {rule for rule in proposed if rule not in accepted and current.get(rule) != proposed[rule]}
        for rule in clashing:
            del accepted[rule]


# -- checks that read the store -----------------------------------------------------------------------------


def checked_action(
    ctx: Ctx, action: Mapping[str, Any], *, field: str, listener_protocol: str, service: Record
) -> dict[str, Any]:
    """The action as it is stored (target group IDs, weights filled in), or the error AWS gives for it."""
    if action.get("fixedResponse") is not None:
        return {"fixedResponse": _checked_fixed_response(action["fixedResponse"], field, listener_protocol)}
    groups = weighted(list(action["forward"]["targetGroups"]), field)
    seen: set[str] = set()
    for i, group in enumerate(groups):
        path = f"{field}.forward.targetGroups.{i}.targetGroupIdentifier"
        target_group = _usable_target_group(ctx, group["targetGroupIdentifier"], path, listener_protocol, service)
        if target_group.id in seen:
            raise ValidationException.field(path, f"Target group {target_group.id} is listed more than once.")
        seen.add(target_group.id)
        group["targetGroupIdentifier"] = target_group.id
    return {"forward": {"targetGroups": groups}}


def _checked_fixed_response(fixed: Mapping[str, Any], field: str, listener_protocol: str) -> dict[str, Any]:
    if listener_protocol == "TLS_PASSTHROUGH":
        raise ValidationException.field(
            f"{field}.fixedResponse",
            "A TLS_PASSTHROUGH listener cannot answer with a fixed response: its default action must forward "
            "to a TCP target group.",
        )
    problem = fixed_response_problem(fixed["statusCode"])
    if problem:
        raise ValidationException.field(f"{field}.fixedResponse.statusCode", problem)
    return {"statusCode": fixed["statusCode"]}


def _usable_target_group(ctx: Ctx, identifier: str, path: str, listener_protocol: str, service: Record) -> Record:
    target_group = ctx.resolve("targetgroup", identifier)
    if (target_group.account, target_group.region) != (ctx.caller.account, ctx.caller.region):
        # User Guide "Target groups": a target group must be in the same account as the service.
        raise ValidationException.field(
            path,
            f"Target group {target_group.id} belongs to account {target_group.account} in {target_group.region}; "
            "a service can only use target groups of its own account and Region.",
        )
    problem = protocol_problem(listener_protocol, target_group.doc)
    if problem:
        raise ValidationException.field(path, problem)
    for reference in ctx.find("tgref", parent=target_group.id):
        if reference.ref != service.id:
            # User Guide "Target groups": a target group can be used by the listeners of only one service.
            raise ConflictException(
                f"Target group {target_group.id} is already used by service {reference.ref}: a target group "
                "can be used by one service only.",
                "TARGET_GROUP",
                target_group.id,
            )
    return target_group


def check_target_group_quota(ctx: Ctx, service: Record, rule_id: str | None, tg_ids: list[str]) -> None:
    """Refuse an action that would make the service use more target groups than the quota allows."""
    used = {r.parent for r in ctx.find("tgref", ref=service.id) if r.doc.get("ruleId") != rule_id}
    added = set(tg_ids) - used
    if added:
        ctx.check_quota("target_groups_per_service", len(used) + len(added) - 1, "TARGET_GROUP", service.id)


# -- tgref bookkeeping --------------------------------------------------------------------------------------


def sync_tgrefs(ctx: Ctx, service: Record, rule: Record) -> None:
    """Make the tgref records of a rule match the target groups its action forwards to."""
    wanted = set(target_group_ids(rule.doc.get("action")))
    for reference in _tgrefs(ctx, service.id, rule.id):
        if reference.parent not in wanted:
            ctx.tx.delete(reference)
        wanted.discard(reference.parent or "")
    for tg_id in sorted(wanted):
        doc = {"serviceArn": service.arn, "serviceId": service.id, "listenerId": rule.parent, "ruleId": rule.id}
        ctx.tx.put(
            Record(
                "tgref",
                ctx.caller.account,
                ctx.caller.region,
                f"{rule.id}.{tg_id}",
                f"{rule.arn}/targetgroup/{tg_id}",
                doc,
                None,
                tg_id,
                service.id,
            )
        )


def drop_tgrefs(ctx: Ctx, service_id: str, rule: Record) -> None:
    for reference in _tgrefs(ctx, service_id, rule.id):
        ctx.tx.delete(reference)


def _tgrefs(ctx: Ctx, service_id: str, rule_id: str) -> list[Record]:
    return [r for r in ctx.find("tgref", ref=service_id) if r.doc.get("ruleId") == rule_id]
