"""Validation of request parameters against botocore shapes: required, lengths, patterns, enums, ranges, unions.

Pure: a value and a shape in, a list of `FieldError`s out. Patterns are applied as full matches, the way AWS's
validators apply the model's (unanchored) patterns.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from botocore.model import Shape

from latticework.control.errors import FieldError

__all__ = ["validate"]


def validate(value: Any, shape: Shape, path: str = "") -> list[FieldError]:
    """Every constraint `value` breaks, depth first, each with the dotted path of the member."""
    errors: list[FieldError] = []
    _check(value, shape, path, errors)
    return errors


def _check(value: Any, shape: Shape, path: str, errors: list[FieldError]) -> None:
    checker = _CHECKERS.get(shape.type_name)
    if checker is not None:
        checker(value, shape, path, errors)


def _fail(errors: list[FieldError], path: str, value: Any, constraint: str) -> None:
    shown = "null" if value is None else f"'{_short(value)}'"
    errors.append(FieldError(path, f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"))


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 100 else text[:97] + "..."


def _check_structure(value: Any, shape: Shape, path: str, errors: list[FieldError]) -> None:
    if not isinstance(value, dict):
        _fail(errors, path, value, "Member must be a structure")
        return
    members = shape.members
    for name in shape.required_members:
        if value.get(name) is None:
            _fail(errors, _join(path, name), None, "Member must not be null")
    if shape.is_tagged_union:
        present = [k for k in value if k in members and value[k] is not None]
        if len(present) != 1:
            choices = ", ".join(members)
            _fail(errors, path, "{...}", f"Member must have exactly one of these members set: {choices}")
    for name, member_value in value.items():
        if name in members and member_value is not None:
            _check(member_value, members[name], _join(path, name), errors)


def _check_list(value: Any, shape: Shape, path: str, errors: list[FieldError]) -> None:
    if not isinstance(value, list):
        _fail(errors, path, value, "Member must be a list")
        return
    _check_size(len(value), shape, path, value, errors, "length")
    for i, item in enumerate(value):
        _check(item, shape.member, f"{path}.{i}", errors)


def _check_map(value: Any, shape: Shape, path: str, errors: list[FieldError]) -> None:
    if not isinstance(value, dict):
        _fail(errors, path, value, "Member must be a map")
        return
    _check_size(len(value), shape, path, value, errors, "length")
    for key, item in value.items():
        _check(key, shape.key, f"{path}.key", errors)
        _check(item, shape.value, f"{path}.{key}", errors)


def _check_string(value: Any, shape: Shape, path: str, errors: list[FieldError]) -> None:
    if not isinstance(value, str):
        _fail(errors, path, value, "Member must be a string")
        return
    meta = shape.metadata
    _check_size(len(value), shape, path, value, errors, "length")
    enum = meta.get("enum")
    if enum and value not in enum:
        _fail(errors, path, value, f"Member must satisfy enum value set: [{', '.join(enum)}]")
    pattern = meta.get("pattern")
    compiled = _compiled(pattern) if pattern else None
    if compiled is not None and not compiled.fullmatch(value):
        _fail(errors, path, value, f"Member must satisfy regular expression pattern: {pattern}")


def _check_number(value: Any, shape: Shape, path: str, errors: list[FieldError]) -> None:
    wanted = int if shape.type_name in ("integer", "long") else (int, float)
    if isinstance(value, bool) or not isinstance(value, wanted):
        _fail(errors, path, value, f"Member must be a number of type {shape.type_name}")
        return
    _check_size(value, shape, path, value, errors, "value")


def _check_boolean(value: Any, shape: Shape, path: str, errors: list[FieldError]) -> None:
    if not isinstance(value, bool):
        _fail(errors, path, value, "Member must be a boolean")


def _check_size(size: float, shape: Shape, path: str, value: Any, errors: list[FieldError], what: str) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        word = "length greater than or equal to" if what == "length" else "value greater than or equal to"
        _fail(errors, path, value, f"Member must have {word} {low}")
    if high is not None and size > high:
        word = "length less than or equal to" if what == "length" else "value less than or equal to"
        _fail(errors, path, value, f"Member must have {word} {high}")


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """The model's pattern; None for one Python's re cannot read (Java's \\p{L}-style classes in some models,
    e.g. ECS tag keys), which is then not checked: a lenient miss beats refusing every request."""
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


_CHECKERS = {
    "structure": _check_structure,
    "list": _check_list,
    "map": _check_map,
    "string": _check_string,
    "integer": _check_number,
    "long": _check_number,
    "float": _check_number,
    "double": _check_number,
    "boolean": _check_boolean,
}
