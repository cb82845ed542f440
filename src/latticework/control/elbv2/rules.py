"""CreateRule, DescribeRules, ModifyRule, DeleteRule, SetRulePriorities. Priorities are 1-50000 and unique per
listener (PriorityInUse); the default rule cannot be deleted, reprioritised or given conditions
(OperationNotPermitted). Conditions and actions are checked by the data plane's own compiler
(`dataplane/alb`), so what the API accepts is exactly what the ALB runs. No I/O of its own.
"""

from __future__ import annotations

from typing import Any

from latticework.control.elbv2._context import ElbCtx
from latticework.control.elbv2.errors import ElbError, validation
from latticework.control.elbv2.listeners import normalised_actions
from latticework.control.store import Record
from latticework.dataplane.alb import names
from latticework.dataplane.alb.conditions import RuleError, compile_conditions

__all__ = ["create_rule", "delete_rule", "describe_rules", "modify_rule", "set_rule_priorities"]

_MAX_PRIORITY = 50000


def create_rule(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    listener = ctx.get(names.LISTENER_KIND, params["ListenerArn"])
    priority = _priority(params["Priority"])
    _conditions(params["Conditions"])
    ctx.actions(params["Actions"], listener.doc["Protocol"])
    _check_free(ctx, listener, {priority}, exclude=set())
    lb = ctx.get(names.LB_KIND, listener.doc["LoadBalancerArn"])
    rule_id = names.new_id()
    arn = ctx.arn(f"listener-rule/app/{lb.name}/{lb.id}/{listener.id}/{rule_id}")
    doc = {"RuleArn": arn, "Priority": str(priority), "Conditions": params["Conditions"],
           "Actions": normalised_actions(params["Actions"]), "IsDefault": False}  # fmt: skip
    ctx.tx.put(Record(names.RULE_KIND, lb.account, lb.region, rule_id, arn, doc, parent=listener.id))
    return {"Rules": [doc]}


def _priority(value: int) -> int:
    if not 1 <= value <= _MAX_PRIORITY:
        raise validation(f"Priority must be between 1 and {_MAX_PRIORITY}.")
    return value


def _conditions(given: list[dict[str, Any]]) -> None:
    try:
        compile_conditions(given)
    except RuleError as exc:
        raise validation(str(exc)) from None


def _check_free(ctx: ElbCtx, listener: Record, wanted: set[int], exclude: set[str]) -> None:
    for rule in ctx.find(names.RULE_KIND, parent=listener.id):
        if rule.id not in exclude and not rule.doc.get("IsDefault") and int(rule.doc["Priority"]) in wanted:
            raise ElbError("PriorityInUse", f"Priority '{rule.doc['Priority']}' is currently in use")


def describe_rules(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    arns, listener_arn = params.get("RuleArns"), params.get("ListenerArn")
    if bool(arns) == bool(listener_arn):
        raise validation("Give exactly one of ListenerArn and RuleArns.")
    if arns:
        found = [ctx.get(names.RULE_KIND, arn) for arn in arns]
    else:
        listener = ctx.get(names.LISTENER_KIND, listener_arn or "")
        found = sorted(ctx.find(names.RULE_KIND, parent=listener.id), key=_order)
    return {"Rules": [r.doc for r in found]}


def _order(rule: Record) -> int:
    return _MAX_PRIORITY + 1 if rule.doc.get("IsDefault") else int(rule.doc["Priority"])


def modify_rule(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    rule = ctx.get(names.RULE_KIND, params["RuleArn"])
    listener = ctx.get(names.LISTENER_KIND, _listener_arn(ctx, rule))
    if params.get("Conditions") is not None:
        if rule.doc.get("IsDefault"):
            raise ElbError("OperationNotPermitted", "The default rule cannot have conditions.")
        _conditions(params["Conditions"])
        rule.doc["Conditions"] = params["Conditions"]
    if params.get("Actions") is not None:
        ctx.actions(params["Actions"], listener.doc["Protocol"])
        rule.doc["Actions"] = normalised_actions(params["Actions"])
        if rule.doc.get("IsDefault"):
            listener.doc["DefaultActions"] = rule.doc["Actions"]
            ctx.tx.put(listener)
    ctx.tx.put(rule)
    return {"Rules": [rule.doc]}


def _listener_arn(ctx: ElbCtx, rule: Record) -> str:
    listener = ctx.tx.get(names.LISTENER_KIND, rule.account, rule.region, rule.parent or "")
    return listener.arn if listener is not None else ""


def delete_rule(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    rule = ctx.get(names.RULE_KIND, params["RuleArn"])
    if rule.doc.get("IsDefault"):
        raise ElbError("OperationNotPermitted", "The default rule of a listener cannot be deleted.")
    ctx.tx.delete(rule)
    return {}


def set_rule_priorities(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    """All or nothing: every rule must be a non-default rule, and no two rules of a listener may end up with
    the same priority."""
    changes = [(ctx.get(names.RULE_KIND, p["RuleArn"]), _priority(p["Priority"])) for p in params["RulePriorities"]]
    by_listener: dict[str, list[tuple[Record, int]]] = {}
    for rule, priority in changes:
        if rule.doc.get("IsDefault"):
            raise ElbError("OperationNotPermitted", "The priority of the default rule cannot be changed.")
        by_listener.setdefault(rule.parent or "", []).append((rule, priority))
    for listener_id, moves in by_listener.items():
        wanted = [p for _, p in moves]
        if len(set(wanted)) != len(wanted):
            raise ElbError("PriorityInUse", "Two rules cannot be given the same priority.")
        listener = ctx.tx.get(names.LISTENER_KIND, ctx.caller.account, ctx.caller.region, listener_id)
        if listener is not None:
            _check_free(ctx, listener, set(wanted), exclude={r.id for r, _ in moves})
    for rule, priority in changes:
        rule.doc["Priority"] = str(priority)
        ctx.tx.put(rule)
    return {"Rules": [rule.doc for rule, _ in changes]}
