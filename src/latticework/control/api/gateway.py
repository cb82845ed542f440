"""The control plane's request path, one ordered list of steps: find the caller (account and region from the
SigV4 scope) -> pick the protocol (rest-json for vpc-lattice, query for the EC2 subset) -> parse and validate
-> run the backend operation -> serialise. Any `ApiError` becomes AWS's error shape; anything else is logged
and answered as InternalServerException, never as a bare traceback.

Synchronous and socket-free: `app.py` is the asyncio shell around it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl

from latticework.control.api import ec2query
from latticework.control.api.callers import Callers
from latticework.control.api.model import RouteTable, service_model
from latticework.control.api.restjson import Response, error_response, parse_request, serialize_output
from latticework.control.api.sigv4scope import CredentialScope, credential_scope
from latticework.control.backend import Backend, Caller
from latticework.control.errors import ApiError, InternalServerException

__all__ = ["Gateway", "Request"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    raw_path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes


class Gateway:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.callers = Callers(backend.store, backend.settings)
        self.lattice = RouteTable(service_model("vpc-lattice"))

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        scope = credential_scope(request.headers, request.query)
        caller = self.callers.caller(request.headers, request.query)
        query_protocol = _is_query_protocol(request, scope)
        try:
            if query_protocol:
                response = ec2query.handle(self.backend, caller, _form(request), request_id)
            else:
                response = self.rest_json(request, caller)
        except ApiError as error:
            response = ec2query.error_response(error, request_id) if query_protocol else error_response(error)
        except Exception:
            log.exception("internal error on %s %s", request.method, request.raw_path)
            internal = InternalServerException("Internal error; the server log has the details.")
            response = ec2query.error_response(internal, request_id) if query_protocol else error_response(internal)
        response.headers.append(("x-amzn-requestid", request_id))
        return response

    def rest_json(self, request: Request, caller: Caller) -> Response:
        operation, params = parse_request(
            self.lattice, request.method, request.raw_path, request.query, request.headers, request.body
        )
        return serialize_output(operation, self.backend.invoke(operation, params, caller))


def _is_query_protocol(request: Request, scope: CredentialScope | None) -> bool:
    if scope is not None:
        return scope.service == "ec2"
    content_type = request.headers.get("content-type", "")
    return request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded")


def _form(request: Request) -> list[tuple[str, str]]:
    return request.query + parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
