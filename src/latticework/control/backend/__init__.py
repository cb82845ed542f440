"""The Lattice backend: one function per API operation, named after it (`create_service`, `list_targets`).

Operations live in one module per resource family; `Backend.invoke` finds them by botocore's snake_case name,
runs each in one store transaction with a `Ctx`, and applies `clientToken` idempotency for every operation
whose model marks an idempotency token. Where behaviour deviates from AWS, the operation's docstring says so.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from botocore import xform_name
from botocore.model import OperationModel

from latticework.config import Settings
from latticework.control.backend import (
    access_logs,
    associations,
    domain_verifications,
    listeners,
    policies,
    resource_associations,
    resource_configurations,
    resource_gateways,
    rules,
    service_networks,
    services,
    tags,
    target_groups,
    targets,
    vpcs,
)
from latticework.control.backend._context import Caller, Ctx
from latticework.control.errors import ConflictException, InternalServerException
from latticework.control.store import Store

__all__ = ["Backend", "Caller"]

Operation = Callable[[Ctx, dict[str, Any]], dict[str, Any] | None]

_MODULES: tuple[ModuleType, ...] = (
    service_networks,
    services,
    listeners,
    rules,
    target_groups,
    targets,
    associations,
    policies,
    access_logs,
    tags,
    resource_gateways,
    resource_configurations,
    resource_associations,
    domain_verifications,
    vpcs,
)


class Backend:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.operations = _collect(_MODULES)

    def invoke(self, operation: OperationModel | str, params: dict[str, Any], caller: Caller) -> dict[str, Any] | None:
        name = operation if isinstance(operation, str) else operation.name
        handler = self.operations.get(xform_name(name))
        if handler is None:
            raise InternalServerException(f"{name} is not implemented by Latticework yet.")
        token_member = _token_member(operation)
        if params.get("tags") is not None and name != "TagResource":
            # Create-time tags obey the same rules as TagResource (User Guide "Tag restrictions").
            tags.check_tags(params["tags"])
        with self.store.transaction() as tx:
            ctx = Ctx(tx, caller, self.clock(), self.settings, self.store.secret())
            if token_member is None or params.get(token_member) is None:
                return handler(ctx, params)
            return _idempotent(ctx, name, token_member, params, handler)


def _idempotent(
    ctx: Ctx, name: str, token_member: str, params: dict[str, Any], handler: Operation
) -> dict[str, Any] | None:
    """Same token and parameters: the first answer again, nothing done. Same token, other parameters: 409."""
    key = (ctx.caller.account, ctx.caller.region, name, str(params[token_member]))
    rest = {k: v for k, v in params.items() if k != token_member}
    digest = hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()
    seen = ctx.tx.idempotent_result(key)
    if seen is not None:
        if seen[0] != digest:
            raise ConflictException(
                f"The client token '{params[token_member]}' was already used with other parameters for {name}. "
                "Use a new clientToken for a different request.",
                "CLIENT_TOKEN",
                str(params[token_member]),
            )
        return json.loads(seen[1])  # type: ignore[no-any-return]
    result = handler(ctx, params)
    ctx.tx.remember_result(key, digest, json.dumps(result))
    return result


def _token_member(operation: OperationModel | str) -> str | None:
    if isinstance(operation, str) or operation.input_shape is None:
        return None
    for name, shape in operation.input_shape.members.items():
        if shape.metadata.get("idempotencyToken"):
            return str(name)
    return None


def _collect(modules: tuple[ModuleType, ...]) -> dict[str, Operation]:
    found: dict[str, Operation] = {}
    for module in modules:
        for name in getattr(module, "__all__", ()):
            found[name] = getattr(module, name)
    return found
