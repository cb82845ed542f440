"""The query protocol as ELBv2 speaks it, driven by botocore's `elbv2` model (botocore's QuerySerializer and
QueryParser read the other way round):
- input: form fields; a structure member's wire name is its `locationName`, else its name; a list is
  `Name.member.N` (`Name.N` when flattened), an empty list `Name=`; a map `Name.entry.N.key/value`;
- output: `<{Action}Response xmlns=...><{Action}Result>members</{Action}Result><ResponseMetadata><RequestId/>
  </ResponseMetadata></{Action}Response>`, lists as `<member>` children;
- errors: `<ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>`.

Pure: no I/O.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from latticework.control.api.querywire import AUTH_KEYS, write_document, write_members
from latticework.control.api.validate import validate
from latticework.control.elbv2.errors import ElbError, validation
from latticework.control.errors import ApiError

__all__ = ["error_response_body", "operation_for", "parse_form", "serialize_output"]


def operation_for(model: ServiceModel, fields: dict[str, str], supported: frozenset[str]) -> OperationModel:
    action = fields.pop("Action", None)
    fields.pop("Version", None)
    if not action:
        raise ElbError("MissingAction", "The request must contain the parameter Action.")
    if action not in supported:
        names = ", ".join(sorted(supported))
        raise ElbError(
            "InvalidAction", f"The action {action} is not valid; Latticework's ELBv2 subset supports: {names}."
        )
    return model.operation_model(action)


def form_fields(form: list[tuple[str, str]]) -> dict[str, str]:
    """The form as a dict, without the authentication fields."""
    return {k: v for k, v in form if k not in AUTH_KEYS and not k.startswith("X-Amz-")}


@dataclass(slots=True)
class _Node:
    value: str | None = None
    children: dict[str, _Node] = field(default_factory=dict)


def parse_form(shape: Shape | None, fields: dict[str, str]) -> dict[str, Any]:
    """The input the form carries, typed by the model; ValidationError for what ELBv2 would refuse."""
    root = _Node()
    for key, value in fields.items():
        node = root
        for part in key.split("."):
            node = node.children.setdefault(part, _Node())
        node.value = value
    if shape is None:
        return {}
    params: dict[str, Any] = _structure(root, shape, "")
    errors = validate(params, shape)
    if errors:
        raise validation(errors[0].message)
    return params


def _read(node: _Node, shape: Shape, key: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure(node, shape, key)
    if kind == "list":
        return _list(node, shape, key)
    if kind == "map":
        return _map(node, shape, key)
    if node.children:
        raise validation(f"The parameter {key}.{next(iter(node.children))} is not recognized.")
    return _scalar(node.value or "", shape, key)


def _structure(node: _Node, shape: Shape, key: str) -> dict[str, Any]:
    wires = {member.serialization.get("name", name): (name, member) for name, member in shape.members.items()}
    result: dict[str, Any] = {}
    for wire, child in node.children.items():
        if wire not in wires:
            raise validation(f"The parameter {f'{key}.{wire}' if key else wire} is not recognized.")
        name, member = wires[wire]
        result[name] = _read(child, member, f"{key}.{wire}" if key else wire)
    return result


def _indexed(node: _Node, key: str) -> list[_Node]:
    for index in node.children:
        if not index.isdigit() or int(index) < 1:
            raise validation(f"The parameter {key}.{index} is not recognized.")
    return [child for _, child in sorted(node.children.items(), key=lambda item: int(item[0]))]


def _list(node: _Node, shape: Shape, key: str) -> list[Any]:
    if not node.children:
        return []  # `Name=`: botocore's way of sending an empty list
    if shape.serialization.get("flattened"):
        items, prefix = node, key
    else:
        name = shape.member.serialization.get("name", "member")
        items, prefix = node.children.get(name) or _Node(), f"{key}.{name}"
        if set(node.children) - {name}:
            raise validation(f"The parameter {key}.{next(iter(set(node.children) - {name}))} is not recognized.")
    return [_read(child, shape.member, f"{prefix}.{i}") for i, child in enumerate(_indexed(items, prefix), 1)]


def _map(node: _Node, shape: Shape, key: str) -> dict[str, Any]:
    entries = node.children.get("entry") or _Node()
    result = {}
    for entry in _indexed(entries, f"{key}.entry"):
        name = (entry.children.get("key") or _Node()).value or ""
        result[name] = _read(entry.children.get("value") or _Node(), shape.value, f"{key}.entry.value")
    return result


def _scalar(text: str, shape: Shape, key: str) -> Any:
    if shape.type_name in ("integer", "long"):
        if not re.fullmatch(r"-?\d+", text):
            raise validation(f"Value ({text}) for parameter {key} is invalid. Expected an integer.")
        return int(text)
    if shape.type_name == "boolean":
        if text.lower() not in ("true", "false"):
            raise validation(f"Value ({text}) for parameter {key} is invalid. Expected true or false.")
        return text.lower() == "true"
    return text


# -- response ---------------------------------------------------------------------------------------------------


def serialize_output(operation: OperationModel, output: dict[str, Any] | None, request_id: str) -> bytes:
    namespace = operation.service_model.metadata["xmlNamespace"]
    root = ET.Element(f"{operation.name}Response", {"xmlns": namespace})
    result = ET.SubElement(root, f"{operation.name}Result")
    if operation.output_shape is not None:
        write_members(result, output or {}, operation.output_shape)
    ET.SubElement(ET.SubElement(root, "ResponseMetadata"), "RequestId").text = request_id
    return write_document(root)


def error_response_body(error: ApiError, namespace: str, request_id: str) -> bytes:
    root = ET.Element("ErrorResponse", {"xmlns": namespace})
    detail = ET.SubElement(root, "Error")
    ET.SubElement(detail, "Type").text = "Sender" if error.status < 500 else "Receiver"
    ET.SubElement(detail, "Code").text = error.code
    ET.SubElement(detail, "Message").text = error.message
    ET.SubElement(root, "RequestId").text = request_id
    return write_document(root)
