"""LAMBDA target groups: one request whose decision is Forwarding to a LAMBDA group in, the HTTP response out.

Builds the V1/V2 event (`lambda_events`) with the headers a target would get and V2's requestContext (identity
from the access step), checks the function's resource policy in strict mode, invokes the function through a
`FunctionInvoker`, and maps the answer, or the way the invocation failed, to the response and the access log's
failureReason. Two invokers: `SupervisorInvoker` in the server process (the function supervisor lives there) and
`LoopbackInvoker` in `--workers` processes (the server's own Lambda Invoke endpoint on 127.0.0.1, over kept-alive
connections, so concurrency limits stay global).

I/O module (asyncio, for the loopback client). Never reads or writes client connections (`forwarding` does) and
never decides routing (`decide` does).

Status codes and failure reasons. The Lattice User Guide gives the limits (6 MB request body, 6 MB response JSON)
but not the answers; they follow the ALB's documented behaviour for Lambda targets (ELB UG "Troubleshoot your
Application Load Balancers": 413 for a request body over the limit; 502 when the function returns an error, is
throttled, times out, or answers malformed or oversized JSON) and Lattice's failureReason vocabulary (reference
2.8): TargetProtocolError for a bad answer, TargetDataTimeout for a function that timed out, TargetConnectionError
when the function could not be invoked at all (unknown, throttled, not permitted).
"""

from __future__ import annotations

import asyncio
import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote_plus

from latticework.compute.functions.model import FunctionNotFound, FunctionsError, InvocationThrottled
from latticework.compute.lambda_api.permissions import lattice_may_invoke
from latticework.control.store import Store
from latticework.dataplane.decide import Forwarding, RequestHead, upstream_headers
from latticework.dataplane.http1 import encode_response_head
from latticework.dataplane.lambda_events import (
    MAX_PAYLOAD,
    EventVersion,
    FunctionFailure,
    HttpResponse,
    LatticeRequest,
    TargetContext,
    build_event,
    failure_response,
    map_response,
)
from latticework.dataplane.snapshot import VpcView

__all__ = [
    "FunctionCall",
    "FunctionInvoker",
    "FunctionPermissions",
    "Invocation",
    "InvokeFailed",
    "LambdaTargets",
    "LoopbackInvoker",
    "NoFunctions",
    "SupervisorInvoker",
    "response_bytes",
]

# RFC 9110 7.6.1 hop-by-hop fields: not part of the request a function sees.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "upgrade"}
    | {"transfer-encoding"}
)
_TIMED_OUT = "Sandbox.Timedout"  # Lambda's errorType for a function stopped at its timeout


class InvokeFailed(FunctionsError):
    """The function could not be invoked (the loopback API answered an error, or no runtime is available)."""


@dataclass(frozen=True, slots=True)
class Invocation:
    payload: bytes
    function_error: str | None  # X-Amz-Function-Error: "Unhandled" when the payload is an error document


class FunctionInvoker(ABC):
    """Runs one synchronous invocation. Raises FunctionNotFound, InvocationThrottled or InvokeFailed."""

    @abstractmethod
    async def invoke(self, function_arn: str, payload: bytes) -> Invocation: ...

    def close(self) -> None:
        """Release connections (shutdown); nothing to release by default."""
        return None


class NoFunctions(FunctionInvoker):
    """A data plane without a function runtime: every function is unknown."""

    async def invoke(self, function_arn: str, payload: bytes) -> Invocation:
        raise FunctionNotFound(function_arn)


class SupervisorInvoker(FunctionInvoker):
    """In the server process: straight to the function supervisor (a pipe round trip to a warm worker)."""

    def __init__(self, supervisor: Any) -> None:
        self.supervisor = supervisor  # compute.functions.supervisor.FunctionSupervisor

    async def invoke(self, function_arn: str, payload: bytes) -> Invocation:
        try:
            result = await self.supervisor.invoke(function_arn, payload)
        except (FunctionNotFound, InvocationThrottled):
            raise
        except FunctionsError as failure:  # RuntimeUnavailable: no interpreter for the runtime
            raise InvokeFailed(str(failure)) from None
        return Invocation(result.payload, result.function_error)


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter, float]  # reader, writer, idle since (monotonic)


class LoopbackInvoker(FunctionInvoker):
    """In a `--workers` process: POST /2015-03-31/functions/ARN/invocations to the server's API on loopback,
    reusing kept-alive connections. Costs one local HTTP exchange (JSON parse of the event in the API, HTTP
    framing both ways) on top of the supervisor's pipe round trip."""

    # uvicorn closes idle keep-alive connections after 5 s; never reuse one that may be closing.
    _REUSE_SECONDS = 4.0
    _MAX_IDLE = 32

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self._idle: list[_Connection] = []

    async def invoke(self, function_arn: str, payload: bytes) -> Invocation:
        request = _invoke_request(self.host, self.port, function_arn, payload)
        connection = self._take()
        if connection is not None:
            answer = await self._exchange(connection, request)
            if answer is not None:
                return _invocation(function_arn, *answer)
            # A kept-alive connection the server had closed before reading our request: nothing ran; retry.
        reader, writer = await asyncio.open_connection(self.host, self.port)
        answer = await self._exchange((reader, writer, 0.0), request)
        if answer is None:
            raise InvokeFailed("the Lambda API closed the connection without answering")
        return _invocation(function_arn, *answer)

    def _take(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if now - connection[2] < self._REUSE_SECONDS and not connection[1].is_closing():
                return connection
            connection[1].close()
        return None

    async def _exchange(self, connection: _Connection, request: bytes) -> tuple[int, dict[str, str], bytes] | None:
        reader, writer, _ = connection
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as failure:
            writer.close()
            if failure.partial:
                raise InvokeFailed("the Lambda API sent a truncated response head") from None
            return None
        except (OSError, asyncio.LimitOverrunError) as failure:
            writer.close()
            raise InvokeFailed(f"the Lambda API connection failed: {failure}") from None
        status, headers = _parse_head(head)
        try:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        except (asyncio.IncompleteReadError, OSError, ValueError):
            writer.close()
            raise InvokeFailed("the Lambda API sent a truncated response") from None
        self._keep(reader, writer, headers)
        return status, headers, body

    def _keep(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        if headers.get("connection", "").lower() == "close" or len(self._idle) >= self._MAX_IDLE:
            writer.close()
        else:
            self._idle.append((reader, writer, time.monotonic()))

    def close(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()


def _invoke_request(host: str, port: int, function_arn: str, payload: bytes) -> bytes:
    path = f"/2015-03-31/functions/{quote(function_arn, safe='')}/invocations"
    head = (
        f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"x-amz-invocation-type: RequestResponse\r\ncontent-length: {len(payload)}\r\n\r\n"
    )
    return head.encode("latin-1") + payload


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise InvokeFailed(f"the Lambda API sent a malformed status line {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def _invocation(function_arn: str, status: int, headers: dict[str, str], body: bytes) -> Invocation:
    """The Invoke API's answer as the supervisor would have given it (Lambda API reference, Invoke errors)."""
    if status == 200:
        return Invocation(body, headers.get("x-amz-function-error") or None)
    if status == 404:
        raise FunctionNotFound(function_arn)
    if status == 429:
        raise InvocationThrottled(_error_field(body, "Reason") or "Rate Exceeded.")
    raise InvokeFailed(f"the Lambda API answered {status}: {_error_field(body, 'message') or body[:200]!r}")


def _error_field(body: bytes, name: str) -> str | None:
    try:
        value = json.loads(body).get(name) or json.loads(body).get(name.capitalize())
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None


class FunctionPermissions:
    """Strict mode's question: does the function's resource policy let vpc-lattice.amazonaws.com invoke it for
    this target group? Read from the store once per config version (a policy change is a config change)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.version = -1
        self.answers: dict[tuple[str, str], bool] = {}

    def allowed(self, version: int, function_arn: str, target_group_arn: str) -> bool:
        if version != self.version:
            self.version, self.answers = version, {}
        key = (function_arn, target_group_arn)
        if key not in self.answers:
            self.answers[key] = self._read(function_arn, target_group_arn)
        return self.answers[key]

    def _read(self, function_arn: str, target_group_arn: str) -> bool:
        with self.store.transaction() as tx:
            record = tx.get_by_arn(_unqualified(function_arn))
        return record is not None and lattice_may_invoke(record.doc, target_group_arn)


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """One request for a LAMBDA target group, its body read whole."""

    forwarding: Forwarding
    vpc: VpcView
    head: RequestHead
    body: bytes
    client_ip: str
    request_id: str
    received_at: float  # wall-clock seconds: V2's timeEpoch
    config_version: int  # the snapshot's, for the permission cache


class LambdaTargets:
    """What the relay calls for a LAMBDA group: `respond(call)` always returns a response (never raises)."""

    def __init__(self, invoker: FunctionInvoker, permissions: FunctionPermissions | None = None) -> None:
        self.invoker = invoker
        self.permissions = permissions  # None: strict mode off, the permission is recorded but not required

    async def respond(self, call: FunctionCall) -> HttpResponse:
        if len(call.body) > MAX_PAYLOAD:
            return too_large()
        function_arn = call.forwarding.target.id
        group = call.forwarding.target_group
        if self.permissions is not None and not self.permissions.allowed(call.config_version, function_arn, group.arn):
            # Lambda refuses an invoker its policy does not name (AccessDeniedException): nothing runs.
            return failure_response(502, "TargetConnectionError")
        try:
            event = build_event(
                lattice_request(call), _version(group.lambda_event_version), _context(call), call.received_at
            )
            result = await self.invoker.invoke(_unqualified(function_arn), event)
        except FunctionFailure as failure:
            return failure_response(413, failure.failure_reason)
        except (FunctionsError, OSError):
            return failure_response(502, "TargetConnectionError")
        return _mapped(result)


def too_large() -> HttpResponse:
    """Lattice UG "Lambda functions as targets": the request body sent to a function is at most 6 MB."""
    return failure_response(413, "ClientProtocolError")


def lattice_request(call: FunctionCall) -> LatticeRequest:
    """The request as the function sees it: the caller's headers (repeats kept) plus Lattice's, as an HTTP target
    would get them; the query decoded into (name, value) pairs in order."""
    head = call.head
    added = upstream_headers(head._replace(headers={}), call.forwarding, call.vpc, call.client_ip, call.request_id)
    replaced = {name for name, _ in added}
    kept = [
        (name, value)
        for name, value in head.header_list
        if name not in replaced and name not in _HOP_BY_HOP and not name.startswith("x-amzn-lattice-")
    ]
    return LatticeRequest(head.method, head.path, _query_pairs(head.query), (*kept, *added), call.body)


def _query_pairs(query: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in query.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(value)))
    return tuple(pairs)


def _context(call: FunctionCall) -> TargetContext:
    forwarding = call.forwarding
    return TargetContext(
        forwarding.network_arn,
        forwarding.service.arn,
        forwarding.target_group.arn,
        forwarding.service.region,
        _identity(call),
    )


def _identity(call: FunctionCall) -> tuple[tuple[str, str], ...]:
    """V2 requestContext.identity: sourceVpcArn always; type AWS_IAM, principal, principalOrgID and sessionName
    only when an auth policy is in use and the caller authenticated (Lattice UG "Lambda functions as targets")."""
    fields = [("sourceVpcArn", call.vpc.arn)]
    principal = call.forwarding.access.principal
    if principal is not None:
        fields += [("type", "AWS_IAM"), ("principal", principal.arn)]
        if principal.org_id:
            fields.append(("principalOrgID", principal.org_id))
        if principal.session_name:
            fields.append(("sessionName", principal.session_name))
    return tuple(fields)


def _version(value: str) -> EventVersion:
    return "V2" if value == "V2" else "V1"


def _unqualified(function_arn: str) -> str:
    # Only $LATEST exists here (docs/functions.md); an ARN registered with it names the function itself.
    return function_arn.removesuffix(":$LATEST")


def _mapped(result: Invocation) -> HttpResponse:
    response = map_response(result.payload, result.function_error)
    if result.function_error and _error_type(result.payload) == _TIMED_OUT:
        return replace(response, failure_reason="TargetDataTimeout")
    if response.failure_reason is None and not _safe_headers((("reason", response.reason), *response.headers)):
        return failure_response(502, "TargetProtocolError")
    return response


def _error_type(payload: bytes) -> str | None:
    try:
        document = json.loads(payload)
    except ValueError:
        return None
    return document.get("errorType") if isinstance(document, dict) else None


def _safe_headers(headers: tuple[tuple[str, str], ...]) -> bool:
    """Header names and values (and the reason phrase, from statusDescription) a response head can carry: no CR,
    LF or NUL (no response splitting), latin-1 only."""
    for name, value in headers:
        text = name + value
        if not name or any(c in text for c in "\r\n\0") or any(ord(c) > 255 for c in text) or ":" in name:
            return False
    return True


def response_bytes(response: HttpResponse, request_id: str, keep_alive: bool, head_only: bool) -> bytes:
    """The bytes the client gets: the function's headers (Lattice computes Content-Length, drops hop-by-hop;
    `map_response` did both), x-amzn-requestid, and the body unless the request was HEAD."""
    headers = [(n, v) for n, v in response.headers if n.lower() not in ("content-length", "x-amzn-requestid")]
    headers += [("content-length", str(len(response.body))), ("x-amzn-requestid", request_id)]
    if not keep_alive:
        headers.append(("connection", "close"))
    head = encode_response_head(response.status, response.reason, headers)
    return head if head_only else head + response.body
