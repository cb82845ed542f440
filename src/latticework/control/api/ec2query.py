"""The EC2 query protocol subset (CreateVpc, DescribeVpcs, DeleteVpc, CreateTags, DeleteTags, DescribeTags):
form in, XML out.

Both directions are driven by botocore's ec2 model, never by per-operation code:
- input: a member's wire name is its `queryName`, else its `locationName` capitalised, else its member name, and
  lists are always `Name.N` (botocore's EC2Serializer), so `Filter.1.Value.2` and `TagSpecification.1.Tag.1.Key`
  land in the input shape's members;
- output: members are written under their `locationName`, lists as `<item>` children (repeated elements when the
  list is flattened), inside `<{Action}Response xmlns=...>` with a `<requestId>` (botocore's EC2QueryParser);
- errors: `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`.

Which actions exist is what `backend/vpcs.py` exports. No I/O here beyond handing the parsed input to the backend.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from botocore.model import OperationModel, ServiceModel, Shape

from latticework.control.api.model import service_model
from latticework.control.api.querywire import AUTH_KEYS, write_document, write_members
from latticework.control.api.restjson import Response
from latticework.control.api.validate import validate
from latticework.control.backend import Backend, Caller, vpcs
from latticework.control.errors import ApiError, Ec2Error

__all__ = ["error_response", "handle", "parse_form", "serialize_output"]

_CONTENT_TYPE = ("content-type", "text/xml;charset=UTF-8")
# Lattice-style errors that can surface here, in EC2's vocabulary.
_EC2_CODES = {"ValidationException": ("InvalidParameterValue", 400), "InternalServerException": ("InternalError", 500)}


def handle(backend: Backend, caller: Caller, form: list[tuple[str, str]], request_id: str) -> Response:
    """Run one EC2 action: find it in the model, read its input from the form, invoke the backend, write XML."""
    fields = _fields(form)
    operation = _operation(service_model("ec2"), fields.pop("Action", None), fields.pop("Version", None))
    params = parse_form(operation.input_shape, fields)
    output = backend.invoke(operation.name, params, caller)
    return Response(200, [_CONTENT_TYPE], serialize_output(operation, output, request_id))


def error_response(error: ApiError, request_id: str) -> Response:
    """EC2's error document; errors raised in Lattice terms are given EC2's code for the same fault."""
    code, status = (error.code, error.status)
    if not isinstance(error, Ec2Error):
        code, status = _EC2_CODES.get(error.code, (code, status))
    root = ET.Element("Response")
    detail = ET.SubElement(ET.SubElement(root, "Errors"), "Error")
    ET.SubElement(detail, "Code").text = code
    ET.SubElement(detail, "Message").text = error.message
    ET.SubElement(root, "RequestID").text = request_id
    return Response(status, [_CONTENT_TYPE], write_document(root))


# -- request -------------------------------------------------------------------------------------------------


def _fields(form: list[tuple[str, str]]) -> dict[str, str]:
    """The form as a dict (a repeated key keeps its last value), without authentication fields."""
    return {k: v for k, v in form if k not in AUTH_KEYS and not k.startswith("X-Amz-")}


def _operation(model: ServiceModel, action: str | None, version: str | None) -> OperationModel:
    if not action:
        raise Ec2Error("MissingAction", "The request must contain the parameter Action.")
    if not version:
        raise Ec2Error("MissingParameter", "The request must contain the parameter Version.")
    if action not in model.operation_names or xform_name(action) not in vpcs.__all__:
        supported = ", ".join(sorted(n for n in model.operation_names if xform_name(n) in vpcs.__all__))
        raise Ec2Error(
            "InvalidAction",
            f"The action {action} is not valid for this web service. Latticework's EC2 subset supports: {supported}.",
        )
    return model.operation_model(action)


@dataclass(slots=True)
class _Node:
    """One level of the dotted form keys: `Filter.1.Name=x` is root -> Filter -> 1 -> Name (value x)."""

    value: str | None = None
    children: dict[str, _Node] = field(default_factory=dict)


def parse_form(shape: Shape | None, fields: dict[str, str]) -> dict[str, Any]:
    """The input members the form carries, nested and typed as the model's input shape says; raises Ec2Error
    (UnknownParameter, MissingParameter, InvalidParameterValue) for input EC2 would refuse."""
    root = _Node()
    for key, value in fields.items():
        node = root
        for part in key.split("."):
            node = node.children.setdefault(part, _Node())
        node.value = value
    if shape is None:
        _no_unknown(root, shape, "")
        return {}
    params: dict[str, Any] = _read_structure(root, shape, "")
    errors = validate(params, shape)
    if errors:
        raise Ec2Error("InvalidParameterValue", errors[0].message)
    return params


def _read(node: _Node, shape: Shape, key: str) -> Any:
    if shape.type_name == "structure":
        return _read_structure(node, shape, key)
    if shape.type_name == "list":
        return _read_list(node, shape, key)
    if node.children:
        raise Ec2Error("UnknownParameter", f"The parameter {key}.{next(iter(node.children))} is not recognized.")
    return _scalar(node.value or "", shape, key)


def _read_structure(node: _Node, shape: Shape, key: str) -> dict[str, Any]:
    _no_unknown(node, shape, key)
    result: dict[str, Any] = {}
    for name, member in shape.members.items():
        wire = _wire_name(member, name)
        child = node.children.get(wire)
        if child is not None:
            result[name] = _read(child, member, f"{key}.{wire}" if key else wire)
        elif name in shape.required_members:
            full = f"{key}.{wire}" if key else wire
            raise Ec2Error("MissingParameter", f"The request must contain the parameter {full}.")
    return result


def _read_list(node: _Node, shape: Shape, key: str) -> list[Any]:
    for index in node.children:
        if not index.isdigit() or int(index) < 1:
            raise Ec2Error("UnknownParameter", f"The parameter {key}.{index} is not recognized.")
    ordered = sorted(node.children.items(), key=lambda item: int(item[0]))
    return [_read(child, shape.member, f"{key}.{index}") for index, child in ordered]


def _no_unknown(node: _Node, shape: Shape | None, key: str) -> None:
    known = {_wire_name(m, n) for n, m in shape.members.items()} if shape is not None else set()
    for name in node.children:
        if name not in known:
            raise Ec2Error("UnknownParameter", f"The parameter {f'{key}.{name}' if key else name} is not recognized.")


def _wire_name(shape: Shape, member_name: str) -> str:
    """botocore's EC2Serializer._get_serialized_name: queryName, else locationName capitalised, else the name."""
    if "queryName" in shape.serialization:
        return str(shape.serialization["queryName"])
    name = shape.serialization.get("name")
    return name[0].upper() + name[1:] if name else member_name


def _scalar(text: str, shape: Shape, key: str) -> Any:
    if shape.type_name in ("integer", "long"):
        if not re.fullmatch(r"-?\d+", text):
            raise Ec2Error(
                "InvalidParameterValue", f"Value ({text}) for parameter {key} is invalid. Expected an integer."
            )
        return int(text)
    if shape.type_name == "boolean":
        if text.lower() not in ("true", "false"):
            raise Ec2Error(
                "InvalidParameterValue", f"Value ({text}) for parameter {key} is invalid. Expected true or false."
            )
        return text.lower() == "true"
    return text


# -- response ------------------------------------------------------------------------------------------------


def serialize_output(operation: OperationModel, output: dict[str, Any] | None, request_id: str) -> bytes:
    """`<{Action}Response xmlns=...><requestId/>...members...</...>`; an action without an output shape answers
    `<return>true</return>` as EC2 does for DeleteVpc, CreateTags and DeleteTags."""
    metadata = operation.service_model.metadata
    namespace = f"http://ec2.amazonaws.com/doc/{metadata['apiVersion']}/"
    root = ET.Element(f"{operation.name}Response", {"xmlns": namespace})
    ET.SubElement(root, "requestId").text = request_id
    shape = operation.output_shape
    if shape is None:
        ET.SubElement(root, "return").text = "true"
    else:
        write_members(root, output or {}, shape)
    return write_document(root)
