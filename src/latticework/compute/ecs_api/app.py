"""The ECS API front on the main endpoint: claims JSON 1.1 requests whose X-Amz-Target names ECS's prefix, runs
the operation in one store transaction and answers in ECS's shapes. One of the API fronts `ControlApp` asks in
order (control/api/app.py).

Steps, in order: caller (account, Region from the SigV4 scope) -> operation from X-Amz-Target -> validation
(botocore's `ecs` model) -> operation (store transaction) -> serialisation; any ApiError becomes ECS's error
shape. No sockets and no waiting: the supervisor does the process work.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore import xform_name

from latticework.compute.ecs_api import clusters, protocol, services, task_definitions, tasks
from latticework.compute.ecs_api._context import EcsCtx
from latticework.compute.ecs_api.errors import ClientException, ServerException
from latticework.config import Settings
from latticework.control.api.callers import Callers
from latticework.control.api.model import service_model
from latticework.control.api.restjson import Response
from latticework.control.backend import Caller
from latticework.control.errors import ApiError
from latticework.control.store import Store

__all__ = ["EcsApi"]

log = logging.getLogger(__name__)

Operation = Callable[[EcsCtx, dict[str, Any]], dict[str, Any]]
_OPERATIONS: dict[str, Operation] = {
    name: getattr(module, name)
    for module in (clusters, task_definitions, services, tasks)
    for name in module.__all__
    if name != "describe_task"
}


class EcsApi:
    max_body = 16 * 1024 * 1024

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.callers = Callers(store, settings)
        self.model = service_model("ecs")
        self.prefix = self.model.metadata["targetPrefix"] + "."

    def too_large(self) -> Response:
        return protocol.error_response(ClientException(f"Request must be smaller than {self.max_body} bytes."))

    def claims(self, path: str, headers: dict[str, str], query: list[tuple[str, str]]) -> bool:
        return headers.get("x-amz-target", "").startswith(self.prefix)

    async def handle(
        self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> Response:
        request_id = str(uuid.uuid4())
        caller = self.callers.caller(headers, query)
        try:
            operation = protocol.operation_for(self.model, headers["x-amz-target"])
            params = protocol.parse_input(operation, body)
            response = protocol.serialize_output(operation, self.run(operation.name, params, caller))
        except ApiError as error:
            response = protocol.error_response(error)
        except Exception:
            log.exception("internal error on ECS %s", headers.get("x-amz-target"))
            response = protocol.error_response(ServerException("Internal error; the server log has the details."))
        response.headers.append(("x-amzn-requestid", request_id))
        return response

    def run(self, name: str, params: dict[str, Any], caller: Caller) -> dict[str, Any]:
        operation = _OPERATIONS.get(xform_name(name))
        if operation is None:
            raise ServerException(f"{name} is not implemented by Latticework yet.")
        with self.store.transaction() as tx:
            return operation(EcsCtx(tx, caller, time.time()), params)
