"""The Lambda API on the main endpoint: the front that claims Lambda requests (a Lambda route, or a
SigV4 scope for service `lambda`) before the rest of the control plane sees them, parses them with botocore's
`lambda` model, runs the operation, and writes Lambda's response. Invoke awaits the function supervisor, so a
slow function never blocks the event loop the API and the data plane share.

Steps, in order: caller (account, Region from the SigV4 scope) -> route + validation (restjson) -> operation
(store transaction, or the supervisor for Invoke) -> serialisation; any ApiError becomes Lambda's error shape.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore import xform_name

from latticework.compute.functions.model import FunctionNotFound, InvocationThrottled, RuntimeUnavailable
from latticework.compute.functions.supervisor import FunctionSupervisor
from latticework.compute.lambda_api import functions, permissions
from latticework.compute.lambda_api._context import LambdaCtx
from latticework.compute.lambda_api.errors import (
    InvalidRequestContentException,
    RequestTooLargeException,
    ResourceNotFoundException,
    ServiceException,
    TooManyRequestsException,
)
from latticework.config import Settings
from latticework.control.api.callers import Callers
from latticework.control.api.model import RouteTable, service_model
from latticework.control.api.restjson import Response, error_response, parse_request, serialize_output
from latticework.control.api.sigv4scope import credential_scope
from latticework.control.backend import Caller
from latticework.control.errors import ApiError
from latticework.control.store import Store

__all__ = ["LambdaApi"]

log = logging.getLogger(__name__)

# Lambda API reference Invoke: 6 MB synchronous request and response, 256 KB for asynchronous events.
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
EVENT_PAYLOAD_LIMIT = 256 * 1024
_MAX_BODY = 70 * 1024 * 1024  # a 50 MB deployment package, base64-encoded in CreateFunction's JSON

Operation = Callable[[LambdaCtx, dict[str, Any]], dict[str, Any] | None]
_OPERATIONS: dict[str, Operation] = {
    name: getattr(module, name)
    for module in (functions, permissions)
    for name in module.__all__
    if name != "lattice_may_invoke"
}


class LambdaApi:
    """The Lambda front of the main endpoint (an `ApiFront`, control/api/app.py)."""

    max_body = _MAX_BODY

    def __init__(self, store: Store, settings: Settings, state_dir: Path, supervisor: FunctionSupervisor) -> None:
        self.store = store
        self.settings = settings
        self.callers = Callers(store, settings)
        self.state_dir = state_dir
        self.supervisor = supervisor
        self.routes = RouteTable(service_model("lambda"))

    def claims(self, path: str, headers: dict[str, str], query: list[tuple[str, str]]) -> bool:
        scope = credential_scope(headers, query)
        if scope is not None:
            return scope.service == "lambda"
        return self.routes.path_exists(path)

    def too_large(self) -> Response:
        return error_response(RequestTooLargeException(f"Request must be smaller than {_MAX_BODY} bytes."))

    async def handle(
        self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> Response:
        request_id = str(uuid.uuid4())
        caller = self.callers.caller(headers, query)
        try:
            operation, params = parse_request(self.routes, method, path, query, headers, body)
            output: dict[str, Any] | None
            if operation.name == "Invoke":
                output, request_id = await self.invoke(params, caller, request_id)
            else:
                output = self.run(operation.name, params, caller)
            response = serialize_output(operation, output)
        except ApiError as error:
            response = error_response(error)
        except Exception:
            log.exception("internal error on Lambda %s %s", method, path)
            response = error_response(ServiceException("Internal error; the server log has the details."))
        response.headers.append(("x-amzn-requestid", request_id))
        return response

    def run(self, name: str, params: dict[str, Any], caller: Caller) -> dict[str, Any] | None:
        operation = _OPERATIONS.get(xform_name(name))
        if operation is None:
            raise ServiceException(f"{name} is not implemented by Latticework yet.")
        with self.store.transaction() as tx:
            return operation(LambdaCtx(tx, caller, time.time(), self.state_dir), params)

    async def invoke(self, params: dict[str, Any], caller: Caller, request_id: str) -> tuple[dict[str, Any], str]:
        with self.store.transaction() as tx:
            record = LambdaCtx(tx, caller, time.time(), self.state_dir).function(
                params["FunctionName"], params.get("Qualifier")
            )
        payload: bytes = params.get("Payload") or b""
        kind = params.get("InvocationType") or "RequestResponse"
        _check_payload(payload, EVENT_PAYLOAD_LIMIT if kind == "Event" else SYNC_PAYLOAD_LIMIT)
        if kind == "DryRun":
            return {"StatusCode": 204}, request_id
        try:
            if kind == "Event":
                self.supervisor.invoke_event(record.arn, payload)
                return {"StatusCode": 202}, request_id
            result = await self.supervisor.invoke(
                record.arn, payload, tail=params.get("LogType") == "Tail", client_context=params.get("ClientContext")
            )
        except FunctionNotFound as exc:
            raise ResourceNotFoundException(str(exc)) from None
        except InvocationThrottled as exc:
            raise TooManyRequestsException(exc.reason) from None
        except RuntimeUnavailable as exc:
            raise ServiceException(str(exc)) from None
        return _invoke_output(result.payload, result.function_error, result.log_tail, params), result.request_id


def _check_payload(payload: bytes, limit: int) -> None:
    if len(payload) > limit:
        raise RequestTooLargeException(f"Request must be smaller than {limit} bytes for the InvokeFunction operation")
    if payload.strip():
        try:
            json.loads(payload)
        except ValueError as exc:
            raise InvalidRequestContentException(f"Could not parse request body into json: {exc}") from None


def _invoke_output(payload: bytes, function_error: str | None, tail: bytes, params: dict[str, Any]) -> dict[str, Any]:
    if len(payload) > SYNC_PAYLOAD_LIMIT:
        # What Lambda returns for an oversized function response (a function error, not an API error).
        message = (
            f"Response payload size ({len(payload)} bytes) exceeded maximum allowed payload size "
            f"({SYNC_PAYLOAD_LIMIT} bytes)."
        )
        payload = json.dumps({"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"}).encode()
        function_error = "Unhandled"
    output: dict[str, Any] = {"StatusCode": 200, "Payload": payload, "ExecutedVersion": "$LATEST"}
    if function_error:
        output["FunctionError"] = function_error
    if params.get("LogType") == "Tail":
        output["LogResult"] = base64.b64encode(tail).decode()
    return output
