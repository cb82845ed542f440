"""The JSON 1.1 protocol (awsJson1_1), as ECS speaks it: `X-Amz-Target: PREFIX.Operation` names the operation, the
body is the input structure; the answer is the output structure as JSON with timestamps as epoch seconds, and an
error is HTTP 400/500 with `{"__type", "message"}`. Pure: bytes and headers in, plain data out; shapes come from
botocore's model, never from per-operation code (the rest-json twin is control/api/restjson.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from latticework.compute.ecs_api.errors import ClientException, InvalidParameterException
from latticework.control.api.restjson import Converter, Response, shape_converter
from latticework.control.api.validate import validate
from latticework.control.errors import ApiError, FieldError

__all__ = ["CONTENT_TYPE", "error_response", "operation_for", "parse_input", "serialize_output", "to_wire"]

CONTENT_TYPE = "application/x-amz-json-1.1"


def operation_for(model: ServiceModel, target: str) -> OperationModel:
    """The operation an X-Amz-Target header names; ClientException for a prefix or name the model lacks."""
    prefix, _, name = target.partition(".")
    if prefix != model.metadata["targetPrefix"] or name not in model.operation_names:
        raise ClientException(f"Unknown operation {target!r}: not an operation of {model.metadata['targetPrefix']}.")
    return model.operation_model(name)


def parse_input(operation: OperationModel, body: bytes) -> dict[str, Any]:
    """The validated input, members the model does not define dropped (AWS ignores them)."""
    shape = operation.input_shape
    if shape is None:
        return {}
    try:
        decoded = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ClientException(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(decoded, dict):
        raise ClientException("The request body must be a JSON object.")
    problems = validate({k: v for k, v in decoded.items() if k != "tags"}, shape)
    problems.extend(_tag_problems(decoded.get("tags")))
    if problems:
        raise InvalidParameterException("; ".join(p.message for p in problems))
    return dict(_modeled(shape)(decoded))


# ECS's TagKey/TagValue patterns use Java's \\p{L}\\p{Z}\\p{N} classes, which Python's `re` lacks: the same set as
# Python classes (letters and digits are \\w; \\p{Z} separators are whitespace here), checked apart from the model.
_TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")
_TAG_LIMITS = {"key": (1, 128), "value": (0, 256)}  # ECS API reference Tag


def _tag_problems(tags: Any) -> list[FieldError]:
    if tags is None:
        return []
    if not isinstance(tags, list) or len(tags) > 50 or not all(isinstance(t, dict) for t in tags):
        return [FieldError("tags", "tags must be a list of at most 50 {key, value} objects.")]
    problems = []
    for i, tag in enumerate(tags):
        for member, (low, high) in _TAG_LIMITS.items():
            text = tag.get(member, "" if member == "value" else None)
            if not isinstance(text, str) or not low <= len(text) <= high or not _TAG_TEXT.fullmatch(text):
                problems.append(FieldError(f"tags.{i}.{member}", f"Tag {member} {text!r} at 'tags.{i}.{member}' must "
                                           f"be {low}-{high} letters, digits, spaces or _.:/=+-@"))  # fmt: skip
    return problems


def serialize_output(operation: OperationModel, output: dict[str, Any] | None) -> Response:
    shape = operation.output_shape
    body = to_wire(output or {}, shape) if shape is not None else {}
    return Response(200, [("content-type", CONTENT_TYPE)], json.dumps(body, separators=(",", ":")).encode())


def error_response(error: ApiError) -> Response:
    body = {"__type": error.code, "message": error.message}
    return Response(error.status, [("content-type", CONTENT_TYPE)], json.dumps(body).encode())


def to_wire(value: Any, shape: Shape) -> Any:
    """A backend value as the shape wants it on the wire: unknown and unset members dropped, timestamps as epoch
    seconds (awsJson1_1's default timestamp format)."""
    return shape_converter(shape, _epoch_timestamps)(value)


def _keep(shape: Shape) -> Converter:
    return _as_is


def _as_is(value: Any) -> Any:
    return value


def _epoch_timestamps(shape: Shape) -> Converter:
    if shape.type_name == "timestamp":
        return lambda value: round(float(value), 3)
    return _as_is


def _modeled(shape: Shape) -> Converter:
    """Input as the model defines it: members outside the shape (and unset ones) dropped at every depth."""
    return shape_converter(shape, _keep)
