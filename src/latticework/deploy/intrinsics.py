"""Intrinsic functions, condition functions and pseudo parameters: a pure evaluator over plain values.

`resolve(value, scope, where)` returns the value with every `Ref` / `Fn::*` replaced; `AWS::NoValue` removes the
key or list item that holds it (CFN UG "Pseudo parameters reference"). `references(value)` lists the logical IDs
a value depends on, for ordering. No I/O, no clock: everything the evaluator may read is in the `Scope`.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from latticework.deploy.errors import TemplateError

__all__ = ["NO_VALUE", "Scope", "evaluate_conditions", "is_intrinsic", "references", "resolve"]


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class Scope:
    """What an expression may read. `refs`/`attributes` hold the resources created so far (logical ID ->
    Ref value / GetAtt attributes); `exports` are the exported outputs of the other local stacks."""

    parameters: Mapping[str, Any]
    mappings: Mapping[str, Any] = field(default_factory=dict)
    conditions: Mapping[str, bool] = field(default_factory=dict)
    refs: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    exports: Mapping[str, Any] = field(default_factory=dict)
    resource_ids: frozenset[str] = frozenset()

    @property
    def region(self) -> str:
        return str(self.parameters["AWS::Region"])

    def with_conditions(self, conditions: Mapping[str, bool]) -> Scope:
        return replace(self, conditions=conditions)


def is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return bool(key == "Ref" or str(key).startswith("Fn::"))


def resolve(value: Any, scope: Scope, where: str) -> Any:
    """The value with every intrinsic function evaluated."""
    if is_intrinsic(value):
        name, argument = next(iter(value.items()))
        handler = _FUNCTIONS.get(name)
        if handler is None:
            raise TemplateError(f"unknown intrinsic function {name}", where)
        return handler(argument, scope, f"{where}.{name}")
    if isinstance(value, dict):
        resolved = {key: resolve(item, scope, f"{where}.{key}") for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}
    if isinstance(value, list):
        items = [resolve(item, scope, f"{where}.{index}") for index, item in enumerate(value)]
        return [item for item in items if item is not NO_VALUE]
    return value


# -- references ----------------------------------------------------------------------------------------------


def references(value: Any) -> set[str]:
    """Names a value reads through Ref, Fn::GetAtt and Fn::Sub (parameters and pseudo parameters included;
    the caller keeps the ones that are resources)."""
    found: set[str] = set()
    _collect(value, found)
    return found


def _collect(value: Any, found: set[str]) -> None:
    if is_intrinsic(value):
        name, argument = next(iter(value.items()))
        if name == "Ref" and isinstance(argument, str):
            found.add(argument)
        elif name == "Fn::GetAtt" and isinstance(argument, list) and argument and isinstance(argument[0], str):
            found.add(argument[0])
        elif name == "Fn::Sub":
            _collect_sub(argument, found)
            return
    if isinstance(value, dict):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)


def _collect_sub(argument: Any, found: set[str]) -> None:
    text, variables = (
        (argument[0], argument[1]) if isinstance(argument, list) and len(argument) == 2 else (argument, {})
    )
    if isinstance(text, str):
        for name in _SUB_VARIABLE.findall(text):
            if not name.startswith("!") and name not in variables:
                found.add(name.split(".", 1)[0])
    _collect(variables, found)


# -- conditions ----------------------------------------------------------------------------------------------


def evaluate_conditions(conditions: Mapping[str, Any], scope: Scope) -> dict[str, bool]:
    """Every named condition's value; a condition may use another through `{"Condition": name}`."""
    done: dict[str, bool] = {}
    for name in conditions:
        _condition(name, conditions, scope, done, ())
    return done


def _condition(
    name: str, conditions: Mapping[str, Any], scope: Scope, done: dict[str, bool], stack: tuple[str, ...]
) -> bool:
    if name in done:
        return done[name]
    if name not in conditions:
        raise TemplateError(f"no condition named {name!r}", f"Conditions.{stack[-1]}" if stack else "Conditions")
    if name in stack:
        raise TemplateError("conditions refer to each other in a circle: " + " -> ".join([*stack, name]), "Conditions")
    inner = scope.with_conditions(_LazyConditions(conditions, scope, done, (*stack, name)))
    value = resolve(conditions[name], inner, f"Conditions.{name}")
    if not isinstance(value, bool):
        raise TemplateError("a condition must be built from Fn::Equals, Fn::And, Fn::Or, Fn::Not", f"Conditions.{name}")
    done[name] = value
    return value


class _LazyConditions(Mapping[str, bool]):
    """Conditions evaluated on first use, so their order in the template does not matter."""

    def __init__(
        self, conditions: Mapping[str, Any], scope: Scope, done: dict[str, bool], stack: tuple[str, ...]
    ) -> None:
        self._conditions, self._scope, self._done, self._stack = conditions, scope, done, stack

    def __getitem__(self, name: str) -> bool:
        if name not in self._conditions:
            raise KeyError(name)
        return _condition(name, self._conditions, self._scope, self._done, self._stack)

    def __iter__(self) -> Any:
        return iter(self._conditions)

    def __len__(self) -> int:
        return len(self._conditions)


# -- the functions -------------------------------------------------------------------------------------------


def _ref(argument: Any, scope: Scope, where: str) -> Any:
    if not isinstance(argument, str):
        raise TemplateError("Ref takes the name of a parameter or resource", where)
    if argument == "AWS::NoValue":
        return NO_VALUE
    if argument in scope.parameters:
        return scope.parameters[argument]
    if argument in scope.refs:
        return scope.refs[argument]
    if argument in scope.resource_ids:
        raise TemplateError(f"{argument} is not created yet (or its Condition is false)", where)
    raise TemplateError(f"Ref to {argument!r}, which is neither a parameter nor a resource", where)


def _get_att(argument: Any, scope: Scope, where: str) -> Any:
    if not (isinstance(argument, list) and len(argument) == 2):
        raise TemplateError("Fn::GetAtt takes [LogicalId, Attribute]", where)
    logical_id, attribute = argument[0], resolve(argument[1], scope, where)
    if logical_id not in scope.attributes:
        if logical_id in scope.resource_ids:
            raise TemplateError(f"{logical_id} is not created yet (or its Condition is false)", where)
        raise TemplateError(f"Fn::GetAtt names {logical_id!r}, which is not a resource", where)
    attributes = scope.attributes[logical_id]
    if attribute not in attributes:
        known = ", ".join(sorted(attributes)) or "none"
        raise TemplateError(f"{logical_id} has no attribute {attribute!r} (it has: {known})", where)
    return attributes[attribute]


def _sub(argument: Any, scope: Scope, where: str) -> str:
    if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
        text, variables = argument[0], resolve(argument[1], scope, where)
    elif isinstance(argument, str):
        text, variables = argument, {}
    else:
        raise TemplateError("Fn::Sub takes a string or [string, {Name: value}]", where)
    if not isinstance(text, str):
        raise TemplateError("Fn::Sub's template must be a string", where)
    return _SUB_VARIABLE.sub(lambda match: _sub_variable(match.group(1), variables, scope, where), text)


def _sub_variable(name: str, variables: Mapping[str, Any], scope: Scope, where: str) -> str:
    # CFN UG "Fn::Sub": ${!Literal} writes ${Literal}; ${Res.Attr} is a GetAtt; anything else a Ref.
    if name.startswith("!"):
        return "${" + name[1:] + "}"
    if name in variables:
        return _text(variables[name], where)
    if "." in name and name not in scope.parameters:
        return _text(_get_att(name.split(".", 1), scope, where), where)
    return _text(_ref(name, scope, where), where)


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"expected a string, got {type(value).__name__} {value!r}", where)


def _join(argument: Any, scope: Scope, where: str) -> str:
    if not (isinstance(argument, list) and len(argument) == 2):
        raise TemplateError("Fn::Join takes [delimiter, [values]]", where)
    delimiter, items = argument[0], resolve(argument[1], scope, where)
    if not isinstance(items, list):
        raise TemplateError("Fn::Join's second item must be a list", where)
    return str(delimiter).join(_text(item, where) for item in items)


def _select(argument: Any, scope: Scope, where: str) -> Any:
    if not (isinstance(argument, list) and len(argument) == 2):
        raise TemplateError("Fn::Select takes [index, [values]]", where)
    index, items = resolve(argument[0], scope, where), resolve(argument[1], scope, where)
    try:
        position = int(index)
    except (TypeError, ValueError):
        raise TemplateError(f"Fn::Select index {index!r} is not a number", where) from None
    if not isinstance(items, list) or not 0 <= position < len(items):
        raise TemplateError(f"Fn::Select index {position} is out of range for {items!r}", where)
    return items[position]


def _split(argument: Any, scope: Scope, where: str) -> list[str]:
    if not (isinstance(argument, list) and len(argument) == 2):
        raise TemplateError("Fn::Split takes [delimiter, string]", where)
    return _text(resolve(argument[1], scope, where), where).split(str(argument[0]))


def _if(argument: Any, scope: Scope, where: str) -> Any:
    if not (isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str)):
        raise TemplateError("Fn::If takes [ConditionName, value if true, value if false]", where)
    chosen = argument[1] if _named_condition(argument[0], scope, where) else argument[2]
    return resolve(chosen, scope, where)


def _named_condition(name: str, scope: Scope, where: str) -> bool:
    try:
        return bool(scope.conditions[name])
    except KeyError:
        raise TemplateError(f"no condition named {name!r}", where) from None


def _boolean(value: Any, scope: Scope, where: str) -> bool:
    if isinstance(value, dict) and len(value) == 1 and "Condition" in value:
        return _named_condition(str(value["Condition"]), scope, where)
    result = resolve(value, scope, where)
    if not isinstance(result, bool):
        raise TemplateError(f"expected a condition, got {result!r}", where)
    return result


def _equals(argument: Any, scope: Scope, where: str) -> bool:
    if not (isinstance(argument, list) and len(argument) == 2):
        raise TemplateError("Fn::Equals takes [value, value]", where)
    left, right = (resolve(item, scope, where) for item in argument)
    # Parameters arrive as strings; CFN compares `!Equals [!Ref Count, 2]` as text.
    return bool(_comparable(left) == _comparable(right))


def _comparable(value: Any) -> Any:
    return str(value).lower() if isinstance(value, bool) else str(value) if isinstance(value, int | float) else value


def _not(argument: Any, scope: Scope, where: str) -> bool:
    if not (isinstance(argument, list) and len(argument) == 1):
        raise TemplateError("Fn::Not takes [condition]", where)
    return not _boolean(argument[0], scope, where)


def _and(argument: Any, scope: Scope, where: str) -> bool:
    return all(_booleans(argument, scope, where, "Fn::And"))


def _or(argument: Any, scope: Scope, where: str) -> bool:
    return any(_booleans(argument, scope, where, "Fn::Or"))


def _booleans(argument: Any, scope: Scope, where: str, name: str) -> list[bool]:
    # CFN UG "Condition functions": Fn::And and Fn::Or take 2 to 10 conditions.
    if not (isinstance(argument, list) and 2 <= len(argument) <= 10):
        raise TemplateError(f"{name} takes a list of 2 to 10 conditions", where)
    return [_boolean(item, scope, f"{where}.{index}") for index, item in enumerate(argument)]


def _get_azs(argument: Any, scope: Scope, where: str) -> list[str]:
    region = resolve(argument, scope, where) or scope.region
    # Every local region has three zones, named as AWS names them (a, b, c).
    return [f"{region}{zone}" for zone in "abc"]


def _import_value(argument: Any, scope: Scope, where: str) -> Any:
    name = resolve(argument, scope, where)
    if name not in scope.exports:
        known = ", ".join(sorted(scope.exports)) or "none"
        raise TemplateError(f"no stack exports {name!r} (exports here: {known})", where)
    return scope.exports[name]


def _find_in_map(argument: Any, scope: Scope, where: str) -> Any:
    if not (isinstance(argument, list) and len(argument) == 3):
        raise TemplateError("Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]", where)
    keys = [_text(resolve(item, scope, where), where) for item in argument]
    node: Any = scope.mappings
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            raise TemplateError(f"Mappings has no {'.'.join(keys[: depth + 1])}", where)
        node = node[key]
    return node


def _base64(argument: Any, scope: Scope, where: str) -> str:
    return base64.b64encode(_text(resolve(argument, scope, where), where).encode()).decode()


def _cidr(argument: Any, scope: Scope, where: str) -> list[str]:
    if not (isinstance(argument, list) and len(argument) == 3):
        raise TemplateError("Fn::Cidr takes [ipBlock, count, cidrBits]", where)
    block, count, bits = (resolve(item, scope, where) for item in argument)
    network = ipaddress.ip_network(str(block))
    subnets = network.subnets(new_prefix=network.max_prefixlen - int(bits))
    return [str(subnet) for _, subnet in zip(range(int(count)), subnets, strict=False)]


def _length(argument: Any, scope: Scope, where: str) -> int:
    value = resolve(argument, scope, where)
    if not isinstance(value, list):
        raise TemplateError("Fn::Length takes a list", where)
    return len(value)


def _to_json_string(argument: Any, scope: Scope, where: str) -> str:
    return json.dumps(resolve(argument, scope, where), separators=(",", ":"))


_FUNCTIONS: dict[str, Callable[[Any, Scope, str], Any]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": _not,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Fn::GetAZs": _get_azs,
    "Fn::ImportValue": _import_value,
    "Fn::FindInMap": _find_in_map,
    "Fn::Base64": _base64,
    "Fn::Cidr": _cidr,
    "Fn::Length": _length,
    "Fn::ToJsonString": _to_json_string,
}
