"""What every ELBv2 operation works with: the store transaction, the caller, the clock reading, a certificate
check, and finding load balancers, target groups, listeners and rules by ARN (ELBv2 takes ARNs, never IDs),
raising ELBv2's NotFound errors. Also the checks of rule actions shared by listeners and rules. No I/O of its own
beyond the transaction it is handed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from latticework.control.backend import Caller
from latticework.control.elbv2.errors import ElbError, not_found, validation
from latticework.control.store import Record, Transaction
from latticework.dataplane.alb import names
from latticework.dataplane.alb.actions import RuleAction, compile_actions, forwarded_groups
from latticework.dataplane.alb.conditions import RuleError

__all__ = ["ElbCtx", "tags_of"]

_WHAT = {
    names.LB_KIND: "loadbalancer",
    names.TARGET_GROUP_KIND: "targetgroup",
    names.LISTENER_KIND: "listener",
    names.RULE_KIND: "rule",
}


@dataclass(slots=True)
class ElbCtx:
    tx: Transaction
    caller: Caller
    now: float
    certificate_exists: Callable[[str], bool] = lambda arn: True

    def get(self, kind: str, arn: str) -> Record:
        """The record of this kind with this ARN in the caller's account and Region; NotFound otherwise."""
        record = self.tx.get_by_arn(arn)
        if record is None or record.kind != kind or (record.account, record.region) != self._home:
            raise not_found(_WHAT[kind], arn)
        return record

    def find(self, kind: str, *, name: str | None = None, parent: str | None = None) -> list[Record]:
        return self.tx.find(kind, self.caller.account, self.caller.region, name=name, parent=parent)

    @property
    def _home(self) -> tuple[str, str]:
        return self.caller.account, self.caller.region

    def arn(self, resource: str) -> str:
        return names.arn(self.caller.region, self.caller.account, resource)

    def actions(self, given: Sequence[Mapping[str, Any]], protocol: str) -> RuleAction:
        """Rule actions checked as ELBv2 checks them: their shape, then every target group they forward to."""
        try:
            action = compile_actions(given, protocol)
        except RuleError as exc:
            raise validation(str(exc)) from None
        for arn in forwarded_groups(action):
            group = self.get(names.TARGET_GROUP_KIND, arn)
            if group.doc["TargetType"] not in ("ip", "instance"):
                raise ElbError("InvalidConfigurationRequest", f"Target group {arn} cannot be used by an ALB rule.")
        return action

    def rules_forwarding_to(self, group_arn: str) -> list[Record]:
        return [r for r in self.find(names.RULE_KIND) if group_arn in _forward_arns(r.doc.get("Actions") or [])]


def _forward_arns(actions: Sequence[Mapping[str, Any]]) -> set[str]:
    found = set()
    for action in actions:
        if action.get("TargetGroupArn"):
            found.add(action["TargetGroupArn"])
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or ():
            found.add(group["TargetGroupArn"])
    return found


def tags_of(params: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in params.get("Tags") or ()}
