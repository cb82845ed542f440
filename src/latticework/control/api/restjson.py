"""The rest-json protocol: request parts -> operation input, operation output -> response parts.

Pure: it takes already-read values (method, raw path, query pairs, headers, body bytes) and returns plain data.
Locations (uri, querystring, header, body) and types come from botocore's model, never from per-operation code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from botocore.model import OperationModel, Shape

from latticework.control.api.model import RouteTable
from latticework.control.api.validate import validate
from latticework.control.errors import ApiError, FieldError, ValidationException
from latticework.control.timestamps import iso8601

__all__ = ["Converter", "Response", "error_response", "parse_request", "serialize_output", "shape_converter"]


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def parse_request(
    table: RouteTable,
    method: str,
    raw_path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
) -> tuple[OperationModel, dict[str, Any]]:
    """Find the operation and build its validated input; raises ValidationException on bad input."""
    found = table.find(method, raw_path)
    if found is None:
        verb = "method" if table.path_exists(raw_path) else "path"
        raise ValidationException(
            f"Unknown operation: no {table.model.service_name} operation for {method} {raw_path} (unsupported {verb})",
            reason="unknownOperation",
        )
    operation = found.operation
    shape = operation.input_shape
    params: dict[str, Any] = {}
    errors: list[FieldError] = []
    if shape is not None:
        params = _payload_member(body, shape) if _blob_payload(shape) else _body_members(body, shape)
        _located_members(shape, found.labels, query, headers, params, errors)
        errors.extend(validate(params, shape))
    if errors:
        raise ValidationException.from_fields(errors)
    return operation, _modeled(params, shape) if shape is not None else params


def _modeled(value: Any, shape: Shape) -> Any:
    """The value with every member the model does not define dropped (AWS ignores unknown members), so nothing
    unmodeled ever reaches the backend or the store."""
    if shape.type_name == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: _modeled(v, members[k]) for k, v in value.items() if k in members}
    if shape.type_name == "list" and isinstance(value, list):
        return [_modeled(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _modeled(v, shape.value) for k, v in value.items()}
    return value


def _blob_payload(shape: Shape) -> str | None:
    """The member the whole body is bound to, when the model binds it to a blob (Lambda Invoke's Payload)."""
    name = shape.serialization.get("payload")
    return name if name is not None and shape.members[name].type_name == "blob" else None


def _payload_member(body: bytes, shape: Shape) -> dict[str, Any]:
    name = _blob_payload(shape)
    return {name: body} if name is not None and body else {}


def _body_members(body: bytes, shape: Shape) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValidationException(f"Could not parse the request body as JSON: {exc}", reason="cannotParse") from None
    if not isinstance(decoded, dict):
        raise ValidationException("The request body must be a JSON object.", reason="cannotParse")
    # Members bound to the URI, query or headers are never read from the body.
    return {
        k: v for k, v in decoded.items() if k in shape.members and not shape.members[k].serialization.get("location")
    }


def _located_members(
    shape: Shape,
    labels: dict[str, str],
    query: list[tuple[str, str]],
    headers: dict[str, str],
    params: dict[str, Any],
    errors: list[FieldError],
) -> None:
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri" and wire in labels:
            params[name] = _coerce(labels[wire], member, name, errors)
        elif location == "querystring":
            values = [v for k, v in query if k == wire]
            if not values:
                continue
            if member.type_name == "list":
                params[name] = [_coerce(v, member.member, name, errors) for v in values]
            else:
                params[name] = _coerce(values[-1], member, name, errors)
        elif location == "header" and wire.lower() in headers:
            params[name] = _coerce(headers[wire.lower()], member, name, errors)


def _coerce(text: str, shape: Shape, name: str, errors: list[FieldError]) -> Any:
    if shape.type_name in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            errors.append(
                FieldError(
                    name,
                    f"Value '{text}' at '{name}' failed to satisfy constraint: Member must be an integer",
                )
            )
            return None
    if shape.type_name == "boolean":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        errors.append(
            FieldError(name, f"Value '{text}' at '{name}' failed to satisfy constraint: Member must be true or false")
        )
        return None
    return text


def serialize_output(operation: OperationModel, output: dict[str, Any] | None) -> Response:
    """The success response: the model's status code, header members, and the JSON body."""
    status = int(operation.http.get("responseCode", 200))
    shape = operation.output_shape
    headers = [("content-type", "application/json")]
    if shape is None or output is None:
        return Response(status, headers, b"" if status == 204 else b"{}")
    body: dict[str, Any] = {}
    for name, member in shape.members.items():
        value = output.get(name)
        if value is None:
            continue
        location = member.serialization.get("location")
        if location == "header":
            headers.append((member.serialization.get("name", name).lower(), str(value)))
        elif location == "statusCode":
            status = int(value)
        elif location is None:
            body[name] = to_wire(value, member)
    if status == 204:
        return Response(status, [], b"")
    payload = _blob_payload(shape)
    if payload is not None:
        # A blob payload member is the whole body, raw (Lambda Invoke's function response).
        return Response(status, headers, bytes(body.get(payload) or b""))
    return Response(status, headers, json.dumps(body, separators=(",", ":")).encode())


def to_wire(value: Any, shape: Shape) -> Any:
    """A backend value in the JSON form the model's shape wants: members outside the shape and unset members
    dropped, timestamps as ISO 8601 strings. The conversion for each shape is compiled once."""
    return shape_converter(shape, _iso_timestamps)(value)


Converter = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _iso_timestamps(shape: Shape) -> Converter:
    if shape.type_name == "timestamp":
        return lambda value: iso8601(value) if isinstance(value, int | float) else value
    return _identity


@cache
def shape_converter(shape: Shape, leaf: Callable[[Shape], Converter]) -> Converter:
    """A compiled walk of `shape` (cached per shape and leaf rule): structures keep only the members the shape
    defines and that are set, lists and maps convert their items, and scalars go through `leaf(shape)`. Shared
    by the JSON protocols (rest-json here, JSON 1.1 for ECS), which differ only in their leaves."""
    kind = shape.type_name
    if kind == "structure":
        members = {name: shape_converter(member, leaf) for name, member in shape.members.items()}
        return lambda value: {k: members[k](v) for k, v in value.items() if v is not None and k in members}
    if kind == "list":
        item = shape_converter(shape.member, leaf)
        return _identity if item is _identity else lambda value: [item(v) for v in value]
    if kind == "map":
        entry = shape_converter(shape.value, leaf)
        return _identity if entry is _identity else lambda value: {k: entry(v) for k, v in value.items()}
    return leaf(shape)


def error_response(error: ApiError) -> Response:
    """AWS rest-json error: status, x-amzn-ErrorType header, JSON body with message and extra members."""
    headers = [("content-type", "application/json"), ("x-amzn-errortype", error.code)]
    retry_after = error.extra.get("retryAfterSeconds")
    if retry_after is not None:
        headers.append(("retry-after", str(retry_after)))
    body = {k: v for k, v in error.body().items() if k != "retryAfterSeconds"}
    return Response(error.status, headers, json.dumps(body).encode())
