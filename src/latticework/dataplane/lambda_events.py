"""VPC Lattice <-> Lambda: the event a LAMBDA target group sends (V1, the default, or V2) built from a request,
and the function's response mapped back to an HTTP response (Lattice UG "Lambda functions as targets";
reference lattice-semantics 2.5).

Owns: base64 rules, multi-value header and query rules, requestContext, the 6 MB limits, and the status and
access-log failureReason for every way a Lambda target can fail. Pure: no I/O, no clock (`now` is a parameter).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "MAX_PAYLOAD",
    "FunctionFailure",
    "HttpResponse",
    "LatticeRequest",
    "TargetContext",
    "build_event",
    "failure_response",
    "map_response",
]

MAX_PAYLOAD = 6 * 1024 * 1024  # Lambda's synchronous invocation limit, both ways
# Lattice UG: these content types are sent as they are; anything else, or any content-encoding, is base64.
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")
# RFC 9110 7.6.1 hop-by-hop fields, plus Content-Length, which Lattice computes itself.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "content-length"}
)

EventVersion = Literal["V1", "V2"]


@dataclass(frozen=True, slots=True)
class LatticeRequest:
    method: str
    path: str  # without the query string
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class TargetContext:
    """What V2's requestContext carries. `identity` holds only the fields that apply (sourceVpcArn, type,
    principal, ...): `type` is AWS_IAM only when an auth policy authenticated the caller."""

    service_network_arn: str
    service_arn: str
    target_group_arn: str
    region: str
    identity: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    failure_reason: str | None = None  # the access log's failureReason; None on success


class FunctionFailure(ValueError):
    """The function's answer cannot become an HTTP response; `failure_reason` is for the access log."""

    def __init__(self, message: str, failure_reason: str = "TargetProtocolError") -> None:
        super().__init__(message)
        self.failure_reason = failure_reason


def build_event(
    request: LatticeRequest, version: EventVersion, context: TargetContext, now: float, value_lists: bool = True
) -> bytes:
    """The event JSON. `value_lists=False` gives V2 single-string header and query values (what Powertools'
    VpcLatticeV2Model and several SDKs expect); AWS's doc shows lists, the default."""
    if len(request.body) > MAX_PAYLOAD:
        raise FunctionFailure("Request body larger than 6 MB", "ClientProtocolError")
    body, encoded = _body(request)
    if version == "V1":
        event: dict[str, Any] = {
            "raw_path": request.path,
            "method": request.method,
            "headers": _joined(request.headers),
            "query_string_parameters": _last_wins(request.query),
            "body": body,
            "is_base64_encoded": encoded,
        }
    else:
        event = _v2(request, context, now, body, encoded, value_lists)
    return json.dumps(event, separators=(",", ":")).encode()


def _v2(
    request: LatticeRequest, context: TargetContext, now: float, body: str, encoded: bool, value_lists: bool
) -> dict[str, Any]:
    headers = _listed(request.headers) if value_lists else _joined(request.headers)
    query = _listed(request.query, lower=False) if value_lists else _last_wins(request.query)
    return {
        "version": "2.0",
        "path": request.path,
        "method": request.method,
        "headers": headers,
        "queryStringParameters": query,
        "body": body,
        "isBase64Encoded": encoded,
        "requestContext": {
            "serviceNetworkArn": context.service_network_arn,
            "serviceArn": context.service_arn,
            "targetGroupArn": context.target_group_arn,
            "identity": dict(context.identity),
            "region": context.region,
            "timeEpoch": str(int(now * 1_000_000)),  # a string, in microseconds
        },
    }


def _body(request: LatticeRequest) -> tuple[str, bool]:
    if not request.body:
        return "", False
    headers = {k.lower(): v for k, v in request.headers}
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    textual = media_type.startswith("text/") or media_type in _TEXT_TYPES
    if textual and "content-encoding" not in headers:
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # not valid text after all: base64 keeps it intact
    return base64.b64encode(request.body).decode(), True


def _joined(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    # Lattice UG V1: multi-value headers arrive as "value1, value2".
    grouped = _listed(pairs)
    return {k: ", ".join(v) for k, v in grouped.items()}


def _listed(pairs: tuple[tuple[str, str], ...], lower: bool = True) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key.lower() if lower else key, []).append(value)
    return grouped


def _last_wins(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    # Lattice UG V1: for a repeated query parameter the last value wins.
    return dict(pairs)


def map_response(payload: bytes, function_error: str | None) -> HttpResponse:
    """The HTTP response for a function's answer; a function error or a malformed answer is a 502."""
    if function_error:
        return failure_response(502, "TargetProtocolError")
    try:
        return _mapped(payload)
    except FunctionFailure as failure:
        return failure_response(502, failure.failure_reason)


def failure_response(status: int, failure_reason: str) -> HttpResponse:
    reason = _REASONS.get(status, "Error")
    body = f"{status} {reason}".encode()
    return HttpResponse(status, reason, (("content-type", "text/plain"),), body, failure_reason)


def _mapped(payload: bytes) -> HttpResponse:
    if len(payload) > MAX_PAYLOAD:
        raise FunctionFailure("Response larger than 6 MB")
    try:
        answer = json.loads(payload)
    except ValueError:
        raise FunctionFailure("Response is not JSON") from None
    if not isinstance(answer, dict):
        raise FunctionFailure("Response is not a JSON object")
    status = answer.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise FunctionFailure("statusCode missing or not an HTTP status")
    body = _response_body(answer)
    description = answer.get("statusDescription")
    reason = description.partition(" ")[2] if isinstance(description, str) and " " in description else ""
    headers = (*_response_headers(answer), ("content-length", str(len(body))))
    return HttpResponse(status, reason or _REASONS.get(status, ""), headers, body)


def _response_body(answer: dict[str, Any]) -> bytes:
    body = answer.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise FunctionFailure("body is not a string")
    if answer.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise FunctionFailure("isBase64Encoded is true but body is not base64") from None
    return body.encode()


def _response_headers(answer: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    result: list[tuple[str, str]] = []
    multi = answer.get("multiValueHeaders")
    single = answer.get("headers")
    multi = {} if multi is None else multi
    single = {} if single is None else single
    if not isinstance(multi, dict) or not isinstance(single, dict):
        raise FunctionFailure("headers or multiValueHeaders is not an object")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise FunctionFailure(f"multiValueHeaders[{name!r}] is not a list")
        result.extend((name, str(v)) for v in values)
    seen = {name.lower() for name in multi}
    result.extend((name, str(v)) for name, v in single.items() if name.lower() not in seen)
    return tuple((k, v) for k, v in result if k.lower() not in _DROPPED_RESPONSE_HEADERS)


_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    413: "Payload Too Large",
}
_REASONS |= {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
_REASONS |= {504: "Gateway Timeout"}
