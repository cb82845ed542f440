"""ECS tasks in ELBv2 target groups: what the service supervisor calls to register a task's port into the
target group its service's `loadBalancers` names, to deregister it, and to read its health back (in the health
machine's upper-case words, as the supervisor reads Lattice's ListTargets). Runs the ELBv2 operations in their
own store transaction; no I/O beyond it.
"""

from __future__ import annotations

import time
from typing import Any

from latticework.control.backend import Caller
from latticework.control.elbv2 import targets
from latticework.control.elbv2._context import ElbCtx
from latticework.control.store import Store

__all__ = ["is_elbv2_group", "target_call", "target_health"]


def is_elbv2_group(arn: str) -> bool:
    return ":elasticloadbalancing:" in arn and ":targetgroup/" in arn


def target_call(store: Store, caller: Caller, operation: str, group_arn: str, port: int) -> None:
    """RegisterTargets or DeregisterTargets of 127.0.0.1:port (a task's address here); raises ApiError."""
    run = targets.register_targets if operation == "RegisterTargets" else targets.deregister_targets
    with store.transaction() as tx:
        run(
            ElbCtx(tx, caller, time.time()),
            {"TargetGroupArn": group_arn, "Targets": [{"Id": "127.0.0.1", "Port": port}]},
        )


def target_health(store: Store, caller: Caller, group_arn: str, ports: list[int]) -> dict[int, str]:
    """Port -> HEALTHY / UNHEALTHY / INITIAL / DRAINING / UNUSED / UNAVAILABLE."""
    params: dict[str, Any] = {"TargetGroupArn": group_arn, "Targets": [{"Id": "127.0.0.1", "Port": p} for p in ports]}
    with store.transaction() as tx:
        found = targets.describe_target_health(ElbCtx(tx, caller, time.time()), params)
    return {int(d["Target"]["Port"]): d["TargetHealth"]["State"].upper() for d in found["TargetHealthDescriptions"]}
