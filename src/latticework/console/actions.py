"""The console's actions, each one API operation through the backend (so validation, errors and config versions
are exactly the API's): shift weights between a rule's target groups, register or deregister a target, switch a
service's auth type. Form values in, `ApiError` out when the API refuses; no I/O of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latticework.control.backend import Backend, Caller
from latticework.control.errors import ValidationException

__all__ = ["register_target", "set_auth_type", "shift_weights"]


def shift_weights(
    backend: Backend, caller: Caller, service: str, listener: str, rule: str, weights: Mapping[str, int]
) -> dict[str, Any]:
    """Give the rule's forward action these weights (target group ID -> weight). The default rule's action is
    the listener's default action, changed with UpdateListener (API reference: UpdateRule cannot change the
    default rule); any other rule with UpdateRule."""
    owner = {"serviceIdentifier": service, "listenerIdentifier": listener}
    current = backend.invoke("GetRule", {**owner, "ruleIdentifier": rule}, caller) or {}
    action = {"forward": {"targetGroups": _weighted(current, weights)}}
    if current.get("isDefault"):
        return backend.invoke("UpdateListener", {**owner, "defaultAction": action}, caller) or {}
    return backend.invoke("UpdateRule", {**owner, "ruleIdentifier": rule, "action": action}, caller) or {}


def _weighted(rule: dict[str, Any], weights: Mapping[str, int]) -> list[dict[str, Any]]:
    groups = ((rule.get("action") or {}).get("forward") or {}).get("targetGroups")
    if not groups:
        raise ValidationException("Only a rule that forwards to target groups has weights to shift.")
    unknown = set(weights) - {g["targetGroupIdentifier"] for g in groups}
    if unknown:
        raise ValidationException(f"Target group(s) {', '.join(sorted(unknown))} are not in this rule's action.")
    return [
        {"targetGroupIdentifier": g["targetGroupIdentifier"], "weight": weights.get(g["targetGroupIdentifier"],
                                                                                   g.get("weight", 100))}
        for g in groups
    ]  # fmt: skip


def register_target(
    backend: Backend, caller: Caller, target_group: str, target: str, port: int | None, register: bool
) -> dict[str, Any]:
    """RegisterTargets or DeregisterTargets for one target (port: the target group's when None)."""
    entry: dict[str, Any] = {"id": target}
    if port is not None:
        entry["port"] = port
    operation = "RegisterTargets" if register else "DeregisterTargets"
    answer = backend.invoke(operation, {"targetGroupIdentifier": target_group, "targets": [entry]}, caller) or {}
    failed = answer.get("unsuccessful") or []
    if failed:
        raise ValidationException(f"{operation} refused {target}: {failed[0].get('failureMessage', 'no reason')}")
    return answer


def set_auth_type(backend: Backend, caller: Caller, service: str, auth_type: str) -> dict[str, Any]:
    """UpdateService's authType: NONE or AWS_IAM (the API validates the value)."""
    return backend.invoke("UpdateService", {"serviceIdentifier": service, "authType": auth_type}, caller) or {}
