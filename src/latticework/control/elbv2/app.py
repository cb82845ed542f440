"""The ELBv2 API front on the main endpoint: claims query-protocol requests signed for `elasticloadbalancing`
(or a `Version=2015-12-01` query string), runs the action in one store transaction, answers in ELBv2's XML. One
of the fronts `ControlApp` asks in order (control/api/app.py).

Steps, in order: caller (account, Region from the SigV4 scope) -> form -> action (botocore's `elbv2` model;
only the subset below) -> input parsed and validated -> operation (store transaction) -> XML; any ApiError
becomes ELBv2's error document. Deviation: an unsigned form POST is not recognised as ELBv2 (the body is read
after the front is chosen); boto3 and the AWS CLI always sign. No sockets here.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from botocore import xform_name

from latticework.config import Settings
from latticework.control.api.callers import Callers
from latticework.control.api.model import service_model
from latticework.control.api.restjson import Response
from latticework.control.api.sigv4scope import credential_scope
from latticework.control.backend import Caller
from latticework.control.elbv2 import attributes, listeners, load_balancers, protocol, rules, target_groups, targets
from latticework.control.elbv2._context import ElbCtx
from latticework.control.elbv2.errors import ElbError
from latticework.control.errors import ApiError
from latticework.control.store import Store

__all__ = ["ElbApi"]

log = logging.getLogger(__name__)

Operation = Callable[[ElbCtx, dict[str, Any]], dict[str, Any]]
_OPERATIONS: dict[str, Operation] = {
    name: getattr(module, name)
    for module in (load_balancers, attributes, target_groups, listeners, rules, targets)
    for name in module.__all__
    if name != "normalised_actions"
}
_CONTENT_TYPE = ("content-type", "text/xml")
_SIGNING_NAME = "elasticloadbalancing"


class ElbApi:
    max_body = 1024 * 1024

    def __init__(self, store: Store, settings: Settings, certificate_exists: Callable[[str], bool]) -> None:
        self.store = store
        self.settings = settings
        self.callers = Callers(store, settings)
        self.certificate_exists = certificate_exists
        self.model = service_model("elbv2")
        self.namespace = self.model.metadata["xmlNamespace"]
        self.version = self.model.metadata["apiVersion"]
        self.supported = frozenset(n for n in self.model.operation_names if xform_name(n) in _OPERATIONS)

    def claims(self, path: str, headers: dict[str, str], query: list[tuple[str, str]]) -> bool:
        scope = credential_scope(headers, query)
        if scope is not None:
            return scope.service == _SIGNING_NAME
        return ("Version", self.version) in query

    def too_large(self) -> Response:
        return self._error(ElbError("ValidationError", f"Request must be smaller than {self.max_body} bytes."), "-")

    async def handle(
        self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> Response:
        request_id = str(uuid.uuid4())
        caller = self.callers.caller(headers, query)
        form = query + parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        try:
            response = self.respond(form, caller, request_id)
        except ApiError as error:
            response = self._error(error, request_id)
        except Exception:
            log.exception("internal error on ELBv2")
            response = self._error(
                ElbError("InternalFailure", "Internal error; the server log has it.", 500), request_id
            )
        response.headers.append(("x-amzn-requestid", request_id))
        return response

    def respond(self, form: list[tuple[str, str]], caller: Caller, request_id: str) -> Response:
        fields = protocol.form_fields(form)
        operation = protocol.operation_for(self.model, fields, self.supported)
        params = protocol.parse_form(operation.input_shape, fields)
        with self.store.transaction() as tx:
            ctx = ElbCtx(tx, caller, time.time(), self.certificate_exists)
            output = _OPERATIONS[xform_name(operation.name)](ctx, params)
        return Response(200, [_CONTENT_TYPE], protocol.serialize_output(operation, output, request_id))

    def _error(self, error: ApiError, request_id: str) -> Response:
        return Response(error.status, [_CONTENT_TYPE], protocol.error_response_body(error, self.namespace, request_id))
