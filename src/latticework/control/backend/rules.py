"""Listener rule operations: create, get, list (in priority order), update, batch update, delete.

A rule belongs to one listener (record parent). Names and priorities are unique per listener; the listener's
default rule (isDefault=True, written by listeners.py) has no priority or match, is listed last, and is changed
only through UpdateListener and deleted only with its listener. Every forward action is mirrored in tgref
records (see _actions).
"""

from __future__ import annotations

from typing import Any

from latticework.control.backend._actions import (
    check_target_group_quota,
    checked_action,
    drop_tgrefs,
    sync_tgrefs,
    target_group_ids,
    unsettled_priorities,
)
from latticework.control.backend._context import Ctx, pick
from latticework.control.backend._paging import page_by_position
from latticework.control.backend.listeners import owned_listener
from latticework.control.errors import ApiError, ConflictException, ResourceNotFoundException, ValidationException
from latticework.control.store import Record

__all__ = ["batch_update_rule", "create_rule", "delete_rule", "get_rule", "list_rules", "update_rule"]

MAX_PRIORITY = 2000  # RulePriority in the model: 1-2000
_DEFAULT_RULE_POSITION = MAX_PRIORITY + 1  # the default rule is evaluated, and listed, last
_SHOWN = ("action", "arn", "id", "isDefault", "match", "name", "priority")


def create_rule(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    service, listener = owned_listener(ctx, params)
    _refuse_passthrough(listener)
    name, priority = params["name"], params["priority"]
    rules = _custom_rules(ctx, listener)
    if any(rule.name == name for rule in rules):
        raise ConflictException(
            f"Listener {listener.id} already has a rule named '{name}'. Rule names are unique per listener.",
            "RULE",
            name,
        )
    _check_priority_free(rules, priority, None)
    # User Guide "Quotas": rules per listener; the default rule is not counted.
    ctx.check_quota("rules_per_listener", len(rules), "RULE", listener.id)
    action = checked_action(
        ctx, params["action"], field="action", listener_protocol=listener.doc["protocol"], service=service
    )
    doc = {
        "isDefault": False,
        "priority": priority,
        "match": params["match"],
        "action": action,
        "serviceId": service.id,
        "listenerId": listener.id,
        "tags": params.get("tags") or {},
    }
    rule = ctx.new_record("rule", doc, name=name, parent=listener.id, arn_prefix=listener.arn)
    check_target_group_quota(ctx, service, rule.id, target_group_ids(action))
    sync_tgrefs(ctx, service, ctx.tx.put(rule))
    return pick(rule.doc, "action", "arn", "id", "match", "name", "priority")


def get_rule(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """The default rule can be read too (API reference, GetRule); it has no priority and no match."""
    _, listener = owned_listener(ctx, params)
    rule = _rule_in(ctx, listener, params["ruleIdentifier"])
    return pick(rule.doc, *_SHOWN, "createdAt", "lastUpdatedAt")


def list_rules(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Rules in priority order, the default rule last (the order the listener evaluates them)."""
    _, listener = owned_listener(ctx, params)

    def item(rule: Record) -> dict[str, Any]:
        return pick(rule.doc, "arn", "createdAt", "id", "isDefault", "lastUpdatedAt", "name", "priority")

    return page_by_position(ctx, "ListRules", params, ctx.find("rule", parent=listener.id), _position, item)


def update_rule(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    service, listener = owned_listener(ctx, params)
    rule = _rule_in(ctx, listener, params["ruleIdentifier"])
    changes = _changes(ctx, service, listener, rule, params, "")
    if "priority" in changes:
        _check_priority_free(_custom_rules(ctx, listener), changes["priority"], rule.id)
    return _apply(ctx, service, rule, changes)


def batch_update_rule(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Applies each update that is valid on its own and in the final state of the listener (so priorities can
    be swapped); the others are reported in `unsuccessful` with the error type as failureCode.

    Deviation: the target-groups-per-service quota is checked per update against the listener as it was
    before the batch, not against the other updates of the same batch.
    """
    service, listener = owned_listener(ctx, params)
    plans: dict[str, tuple[str, Record, dict[str, Any]]] = {}
    unsuccessful: list[dict[str, Any]] = []
    for i, update in enumerate(params["rules"]):
        identifier = update["ruleIdentifier"]
        try:
            rule = _rule_in(ctx, listener, identifier)
            if rule.id in plans:
                raise ValidationException.field(
                    f"rules.{i}.ruleIdentifier", f"Rule {rule.id} appears more than once in this batch."
                )
            plans[rule.id] = (identifier, rule, _changes(ctx, service, listener, rule, update, f"rules.{i}."))
        except ApiError as error:
            unsuccessful.append(_failure(identifier, error))
    current = {rule.id: rule.doc.get("priority") for rule in _custom_rules(ctx, listener)}
    proposed = {rule_id: changes["priority"] for rule_id, (_, _, changes) in plans.items() if "priority" in changes}
    for rule_id in sorted(unsettled_priorities(current, proposed)):
        identifier, _, changes = plans.pop(rule_id)
        unsuccessful.append(_failure(identifier, _priority_taken(listener, changes["priority"])))
    successful = [_apply(ctx, service, rule, changes) for _, rule, changes in plans.values()]
    return {"successful": successful, "unsuccessful": unsuccessful}


def delete_rule(ctx: Ctx, params: dict[str, Any]) -> None:
    service, listener = owned_listener(ctx, params)
    rule = _rule_in(ctx, listener, params["ruleIdentifier"])
    if rule.doc.get("isDefault"):
        # API reference, DeleteRule: "You can delete additional listener rules, but you cannot delete the
        # default rule."
        raise ValidationException.field(
            "ruleIdentifier",
            f"Rule {rule.id} is the default rule of listener {listener.id} and cannot be deleted on its own: "
            "change it with UpdateListener, or delete the listener (DeleteListener).",
        )
    drop_tgrefs(ctx, service.id, rule)
    ctx.tx.delete(rule)


# -- helpers ------------------------------------------------------------------------------------------------


def _rule_in(ctx: Ctx, listener: Record, identifier: str) -> Record:
    rule = ctx.lookup("rule", identifier)
    if rule is None or rule.parent != listener.id:
        raise ResourceNotFoundException(
            "RULE", identifier, f"Rule '{identifier}' was not found in listener {listener.id}."
        )
    return rule


def _custom_rules(ctx: Ctx, listener: Record) -> list[Record]:
    return [rule for rule in ctx.find("rule", parent=listener.id) if not rule.doc.get("isDefault")]


def _changes(
    ctx: Ctx, service: Record, listener: Record, rule: Record, update: dict[str, Any], field: str
) -> dict[str, Any]:
    """The checked new values of one update (UpdateRule or one BatchUpdateRule entry)."""
    if rule.doc.get("isDefault"):
        # API reference, UpdateRule: "You can't modify a default listener rule. To modify a default listener
        # rule, use UpdateListener."
        raise ValidationException.field(
            f"{field}ruleIdentifier",
            f"Rule {rule.id} is the default rule of listener {listener.id}; change its action with UpdateListener.",
        )
    changes = {member: update[member] for member in ("match", "priority") if update.get(member) is not None}
    if update.get("action") is not None:
        changes["action"] = checked_action(
            ctx,
            update["action"],
            field=f"{field}action",
            listener_protocol=listener.doc["protocol"],
            service=service,
        )
        check_target_group_quota(ctx, service, rule.id, target_group_ids(changes["action"]))
    return changes


def _apply(ctx: Ctx, service: Record, rule: Record, changes: dict[str, Any]) -> dict[str, Any]:
    rule.doc.update(changes)
    ctx.touch(rule)
    if "action" in changes:
        sync_tgrefs(ctx, service, rule)
    return pick(rule.doc, *_SHOWN)


def _refuse_passthrough(listener: Record) -> None:
    # User Guide "TLS listeners": "The only rule allowed for a TLS listener is the default rule."
    if listener.doc["protocol"] == "TLS_PASSTHROUGH":
        raise ValidationException.field(
            "listenerIdentifier",
            f"Listener {listener.id} is a TLS_PASSTHROUGH listener: its default rule is the only rule it can have.",
        )


def _check_priority_free(rules: list[Record], priority: int, rule_id: str | None) -> None:
    for other in rules:
        if other.id != rule_id and other.doc.get("priority") == priority:
            raise ConflictException(
                f"Rule {other.id} already has priority {priority} on this listener; priorities are unique per "
                "listener. Pick another priority, or swap them with BatchUpdateRule.",
                "RULE",
                other.id,
            )


def _priority_taken(listener: Record, priority: int) -> ConflictException:
    return ConflictException(
        f"Priority {priority} would be held by two rules of listener {listener.id} after this batch.",
        "RULE",
        listener.id,
    )


def _failure(identifier: str, error: ApiError) -> dict[str, Any]:
    return {"ruleIdentifier": identifier, "failureCode": error.code, "failureMessage": error.message}


def _position(rule: Record) -> int:
    return _DEFAULT_RULE_POSITION if rule.doc.get("isDefault") else int(rule.doc["priority"])
