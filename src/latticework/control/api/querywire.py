"""Wire pieces the two query protocols share (EC2's and the AWS query protocol ELBv2 speaks): the form keys that
carry authentication rather than input, and the XML writer for outputs, driven by botocore shapes (members
under their `locationName`; lists as `<member>` children or repeated elements when flattened; maps as
`<entry><key/><value/></entry>`). Pure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from botocore.model import Shape

from latticework.control.timestamps import iso8601

__all__ = ["AUTH_KEYS", "write_document", "write_members"]

# Form keys that carry authentication rather than input (SigV2 fields, presigned SigV4 query parameters).
AUTH_KEYS = frozenset({"AWSAccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "Timestamp", "Expires"})
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def write_members(element: ET.Element, value: dict[str, Any], shape: Shape) -> None:
    """Each member of `value` that is set, as a child of `element`."""
    for name, member in shape.members.items():
        if value.get(name) is not None:
            _write(element, member.serialization.get("name", name), value[name], member)


def _write(parent: ET.Element, name: str, value: Any, shape: Shape) -> None:
    kind = shape.type_name
    if kind == "list" and shape.serialization.get("flattened"):
        for item in value:
            _write(parent, shape.member.serialization.get("name", name), item, shape.member)
    elif kind == "list":
        element = ET.SubElement(parent, name)
        for item in value:
            _write(element, shape.member.serialization.get("name", "member"), item, shape.member)
    elif kind == "map":
        element = ET.SubElement(parent, name)
        for key, item in value.items():
            entry = ET.SubElement(element, "entry")
            ET.SubElement(entry, "key").text = str(key)
            _write(entry, "value", item, shape.value)
    elif kind == "structure":
        write_members(ET.SubElement(parent, name), value, shape)
    else:
        ET.SubElement(parent, name).text = _text(value, kind)


def _text(value: Any, kind: str) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp" and isinstance(value, int | float):
        return iso8601(value)
    return str(value)


def write_document(root: ET.Element) -> bytes:
    return (_XML_DECLARATION + ET.tostring(root, encoding="unicode")).encode()
