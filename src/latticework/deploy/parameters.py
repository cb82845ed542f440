"""Template parameters: given values (`--parameter K=V`) and defaults checked against the declaration (Type,
AllowedValues, AllowedPattern, Min/MaxLength, Min/MaxValue), plus the pseudo parameters.

Pure: values in, values out. CFN UG "Parameters": every value arrives as a string; `Number` stays a string
that parses as a number, `List<...>` and `CommaDelimitedList` become lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from latticework.deploy.errors import ParameterError

__all__ = ["pseudo_parameters", "resolve_parameters"]

_PARTITION = "aws"


def pseudo_parameters(account: str, region: str, stack_name: str, stack_id: str) -> dict[str, Any]:
    """CFN UG "Pseudo parameters reference" (AWS::NoValue is handled by the evaluator)."""
    return {
        "AWS::AccountId": account,
        "AWS::Region": region,
        "AWS::StackName": stack_name,
        "AWS::StackId": stack_id,
        "AWS::Partition": _PARTITION,
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
    }


def resolve_parameters(declared: Mapping[str, Mapping[str, Any]], given: Mapping[str, str]) -> dict[str, Any]:
    """The value of every declared parameter; unknown given names and missing values are errors."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(declared) or "none"
        raise ParameterError(f"the template declares no parameter {', '.join(unknown)} (it declares: {known})")
    return {name: _value(name, spec, given.get(name)) for name, spec in declared.items()}


def _value(name: str, spec: Mapping[str, Any], given: str | None) -> Any:
    where = f"Parameters.{name}"
    raw = given if given is not None else spec.get("Default")
    if raw is None:
        raise ParameterError(f"no value given and no Default; pass --parameter {name}=VALUE", where)
    kind = str(spec.get("Type", "String"))
    if kind.startswith("List<") or kind == "CommaDelimitedList":
        items = raw if isinstance(raw, list) else [item.strip() for item in str(raw).split(",")]
        for item in items:
            _check(str(item), spec, where, "Number" in kind)
        return [str(item) for item in items]
    _check(_as_text(raw), spec, where, kind == "Number")
    return _as_text(raw)


def _as_text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def _check(value: str, spec: Mapping[str, Any], where: str, number: bool) -> None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [_as_text(item) for item in allowed]:
        raise ParameterError(f"{value!r} is not one of the AllowedValues {[_as_text(a) for a in allowed]}", where)
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), value):
        raise ParameterError(_described(spec, f"{value!r} does not match AllowedPattern {pattern}"), where)
    _check_length(value, spec, where)
    if number:
        _check_number(value, spec, where)


def _described(spec: Mapping[str, Any], message: str) -> str:
    # CFN shows the ConstraintDescription instead of the bare pattern when the template gives one.
    description = spec.get("ConstraintDescription")
    return f"{message} ({description})" if description else message


def _check_length(value: str, spec: Mapping[str, Any], where: str) -> None:
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise ParameterError(_described(spec, f"{value!r} is shorter than MinLength {spec['MinLength']}"), where)
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        raise ParameterError(_described(spec, f"{value!r} is longer than MaxLength {spec['MaxLength']}"), where)


def _check_number(value: str, spec: Mapping[str, Any], where: str) -> None:
    try:
        number = float(value)
    except ValueError:
        raise ParameterError(f"{value!r} is not a Number", where) from None
    if "MinValue" in spec and number < float(spec["MinValue"]):
        raise ParameterError(_described(spec, f"{value} is below MinValue {spec['MinValue']}"), where)
    if "MaxValue" in spec and number > float(spec["MaxValue"]):
        raise ParameterError(_described(spec, f"{value} is above MaxValue {spec['MaxValue']}"), where)
