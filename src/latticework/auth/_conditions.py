"""The Condition element: operators parsed and checked once, compiled into small callables that answer
"does this request satisfy this operator for this key?" in IAM's terms, and explain their answer.

IAM UG "Condition operators" and "Conditions with multiple context keys or values" define the semantics kept
here: operators AND, keys within an operator AND, values of one key OR, and a negated operator (StringNotEquals,
ArnNotLike, NotIpAddress, ...) NOR over its values. A key missing from the request makes a condition false,
except that negated operators are then true, `...IfExists` is true, `ForAllValues:` is true and `Null` tests
presence itself. Pure: no I/O, no clock (date conditions compare values the caller put in the request).
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from latticework.auth._glob import Parts, compile_patterns, has_wildcards, parse_template, plain_text, resolve
from latticework.auth._request import (
    ElementResult,
    KeyReader,
    PolicyError,
    RequestContext,
    Values,
    did_you_mean,
    key_reader,
)

__all__ = ["Condition", "compile_conditions"]

Test = Callable[[str], bool]

_ANY, _ALL = "ForAnyValue", "ForAllValues"
_IF_EXISTS = "IfExists"


# -- operator families: how policy values parse and how one request value is tested against them ------------


@dataclass(frozen=True, slots=True)
class _Family:
    kind: str  # what a policy value must be, for error messages
    build: Callable[[Sequence[Parts]], Test]  # policy values -> "does a request value match any of them?"
    variables: bool = True  # IAM UG: policy variables work in String and ARN operators only
    check: Callable[[str], object] | None = None  # raises ValueError for a policy value that cannot parse


def _equals(values: Sequence[Parts]) -> Test:
    return frozenset(plain_text(parts) for parts in values).__contains__


def _equals_ignore_case(values: Sequence[Parts]) -> Test:
    wanted = frozenset(plain_text(parts).casefold() for parts in values)
    return lambda value: value.casefold() in wanted


def _like(values: Sequence[Parts]) -> Test:
    # IAM UG: StringLike is case-sensitive; `*` and `?` may appear anywhere in the value.
    if not any(has_wildcards(parts) for parts in values):
        return _equals(values)
    pattern = compile_patterns(values).fullmatch
    return lambda value: pattern(value) is not None


def _arn(values: Sequence[Parts]) -> Test:
    # IAM UG: ArnEquals and ArnLike behave alike - case-sensitive, wildcards per ARN segment.
    pattern = compile_patterns(values, arn=True).fullmatch
    return lambda value: pattern(value) is not None


_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)$")


def _number(text: str) -> float:
    if not text.isdigit() and _NUMBER.match(text.strip()) is None:
        raise ValueError(text)
    return float(text)


def _date(text: str) -> float:
    # IAM UG "Date condition operators": ISO 8601 dates, or epoch (UNIX) time in seconds.
    stripped = text.strip()
    if stripped.isdigit():
        return float(stripped)
    moment = datetime.fromisoformat(stripped)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _ordered(
    parse: Callable[[str], float], compare: Callable[[float, float], bool]
) -> Callable[[Sequence[Parts]], Test]:
    def build(values: Sequence[Parts]) -> Test:
        wanted = tuple(parse(plain_text(parts)) for parts in values)
        only = wanted[0] if len(wanted) == 1 else None

        def test(value: str) -> bool:
            try:
                given = parse(value)
            except ValueError:
                return False  # a request value that is not a number or date matches nothing
            if only is not None:
                return compare(given, only)
            return any(compare(given, limit) for limit in wanted)

        return test

    return build


def _boolean(text: str) -> str:
    if text.lower() not in ("true", "false"):
        raise ValueError(text)
    return text.lower()


def _bool(values: Sequence[Parts]) -> Test:
    wanted = frozenset(_boolean(plain_text(parts)) for parts in values)
    return lambda value: value.lower() in wanted


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(text: str) -> _Network:
    return ipaddress.ip_network(text.strip(), strict=False)


def _ip(values: Sequence[Parts]) -> Test:
    # IAM UG "IP address condition operators": RFC 4632 CIDR, IPv4 and IPv6; a bare address is a /32 or /128.
    networks = tuple(_network(plain_text(parts)) for parts in values)

    def test(value: str) -> bool:
        try:
            address = ipaddress.ip_address(value.strip())
        except ValueError:
            return False
        return any(address in network for network in networks)

    return test


_STRING = _Family("a string", _equals)
_NUMERIC, _DATE = "a number", "a date (ISO 8601 or epoch seconds)"


def _numeric(compare: Callable[[float, float], bool]) -> _Family:
    return _Family(_NUMERIC, _ordered(_number, compare), False, _number)


def _dated(compare: Callable[[float, float], bool]) -> _Family:
    return _Family(_DATE, _ordered(_date, compare), False, _date)


# base operator -> (family, negated); IAM UG "Condition operators".
_OPERATORS: dict[str, tuple[_Family, bool]] = {
    "StringEquals": (_STRING, False),
    "StringNotEquals": (_STRING, True),
    "StringEqualsIgnoreCase": (_Family("a string", _equals_ignore_case), False),
    "StringNotEqualsIgnoreCase": (_Family("a string", _equals_ignore_case), True),
    "StringLike": (_Family("a string", _like), False),
    "StringNotLike": (_Family("a string", _like), True),
    "NumericEquals": (_numeric(operator.eq), False),
    "NumericNotEquals": (_numeric(operator.eq), True),
    "NumericLessThan": (_numeric(operator.lt), False),
    "NumericLessThanEquals": (_numeric(operator.le), False),
    "NumericGreaterThan": (_numeric(operator.gt), False),
    "NumericGreaterThanEquals": (_numeric(operator.ge), False),
    "DateEquals": (_dated(operator.eq), False),
    "DateNotEquals": (_dated(operator.eq), True),
    "DateLessThan": (_dated(operator.lt), False),
    "DateLessThanEquals": (_dated(operator.le), False),
    "DateGreaterThan": (_dated(operator.gt), False),
    "DateGreaterThanEquals": (_dated(operator.ge), False),
    "Bool": (_Family("a boolean (true or false)", _bool, False, _boolean), False),
    "BinaryEquals": (_Family("a base-64 string", _equals, False), False),
    "IpAddress": (_Family("an IP address or CIDR block", _ip, False, _network), False),
    "NotIpAddress": (_Family("an IP address or CIDR block", _ip, False, _network), True),
    "ArnEquals": (_Family("an ARN", _arn), False),
    "ArnLike": (_Family("an ARN", _arn), False),
    "ArnNotEquals": (_Family("an ARN", _arn), True),
    "ArnNotLike": (_Family("an ARN", _arn), True),
}
_KNOWN = [*_OPERATORS, "Null"] + [f"{name}{_IF_EXISTS}" for name in _OPERATORS]

# Service Authorization Reference, "Condition keys for Amazon VPC Lattice Services" (lower-case).
_LATTICE_KEYS = frozenset(
    {
        "vpc-lattice-svcs:port",
        "vpc-lattice-svcs:requestmethod",
        "vpc-lattice-svcs:requestpath",
        "vpc-lattice-svcs:servicearn",
        "vpc-lattice-svcs:servicenetworkarn",
        "vpc-lattice-svcs:sourcevpc",
        "vpc-lattice-svcs:sourcevpcowneraccount",
    }
)
_LATTICE_PREFIXES = ("vpc-lattice-svcs:requestheader/", "vpc-lattice-svcs:requestquerystring/")


# -- compiled conditions ---------------------------------------------------------------------------------------


class Condition:
    """One (operator, key) pair of a Condition block, ready to test requests."""

    __slots__ = (
        "_build",
        "_read",
        "_templates",
        "_test",
        "_when_missing",
        "key",
        "mode",
        "negated",
        "operator",
        "values",
    )

    def __init__(
        self,
        operator: str,
        key: str,
        values: tuple[str, ...],
        flags: tuple[str | None, bool, bool],  # set operator, negated, IfExists
        build: Callable[[Sequence[Parts]], Test] | None = None,
        parts: tuple[Parts, ...] = (),
    ) -> None:
        self.operator, self.key, self.values = operator, key, values
        self.mode, self.negated, if_exists = flags
        self._read: KeyReader = key_reader(key)
        # IAM UG: a missing key fails the condition, except IfExists (true), ForAllValues (true: "It also
        # returns true if there are no context keys in the request") and negated operators (true).
        self._when_missing = if_exists or self.mode == _ALL or (self.mode is None and self.negated)
        self._build = build
        templated = any(len(p) > 1 or not isinstance(p[0], str) for p in parts)
        self._templates: tuple[Parts, ...] = parts if templated else ()
        self._test: Test | None = build(parts) if build is not None and not templated else None

    def __call__(self, request: RequestContext) -> bool:
        found = self._read(request)
        test = self._test
        if found is not None and test is not None and len(found) == 1 and self.mode is None:
            return test(found[0]) != self.negated  # the common case: one value, no set operator
        return self._decide(found, request)

    def explain(self, request: RequestContext) -> ElementResult:
        found = self._read(request)
        return ElementResult("Condition", self.values, found, self._decide(found, request), self.operator, self.key)

    def _decide(self, found: Values | None, request: RequestContext) -> bool:
        if found is None:
            return self._when_missing
        test = self._test or self._resolved_test(request)
        if test is None:
            return False  # IAM UG: an unresolvable policy variable makes the condition fail
        negated = self.negated
        if self.mode is None:
            # A single-valued operator on a multivalued key matches when any value does (then negated whole).
            return any(map(test, found)) != negated
        if self.mode == _ALL:
            return all(test(value) != negated for value in found)
        return any(test(value) != negated for value in found)

    def _resolved_test(self, request: RequestContext) -> Test | None:
        resolved = [resolve(parts, request.value_of) for parts in self._templates]
        if self._build is None or any(parts is None for parts in resolved):
            return None
        return self._build([parts for parts in resolved if parts is not None])


class NullCondition(Condition):
    """`Null`: "true" asks for the key to be absent, "false" for it to be present (IAM UG "Condition operator to
    check existence of condition keys")."""

    __slots__ = ("_absent",)

    def __init__(self, key: str, values: tuple[str, ...]) -> None:
        super().__init__("Null", key, values, (None, False, False))
        self._absent = frozenset(_boolean(value) == "true" for value in values)

    def _decide(self, found: Values | None, request: RequestContext) -> bool:
        return (found is None) in self._absent


# -- compiling a Condition block -------------------------------------------------------------------------------


def compile_conditions(block: object, where: str, variables: bool, warnings: list[str]) -> tuple[Condition, ...]:
    """The conditions of one statement's Condition element; PolicyError names what is wrong and where."""
    if not isinstance(block, Mapping):
        raise PolicyError(f'{where}: must be an object such as {{"StringEquals": {{"aws:PrincipalOrgID": "o-..."}}}}.')
    conditions: list[Condition] = []
    for name, keys in block.items():
        base, mode, if_exists = _parse_operator(name, where)
        if not isinstance(keys, Mapping) or not keys:
            raise PolicyError(f'{where}.{name}: must map condition keys to values, e.g. {{"aws:SourceIp": [...]}}.')
        for key, raw in keys.items():
            _check_key(key, f"{where}.{name}", warnings)
            values = _values(raw, f"{where}.{name}.{key}")
            conditions.append(_compiled(name, base, key, values, (mode, if_exists), f"{where}.{name}", variables))
    return tuple(conditions)


def _parse_operator(name: str, where: str) -> tuple[str, str | None, bool]:
    mode, base = None, name
    if ":" in name:
        prefix, base = name.split(":", 1)
        if prefix not in (_ANY, _ALL):
            hint = did_you_mean(prefix, [_ANY, _ALL])
            raise PolicyError(
                f"{where}: unknown set operator '{prefix}:' in '{name}'.{hint} Use ForAnyValue: or ForAllValues:."
            )
        mode = prefix
    if_exists = base.endswith(_IF_EXISTS) and base != _IF_EXISTS
    core = base[: -len(_IF_EXISTS)] if if_exists else base
    if core == "Null" and (if_exists or mode):
        raise PolicyError(f"{where}: '{name}' is not an operator; Null takes neither IfExists nor a set operator.")
    if core not in _OPERATORS and core != "Null":
        raise PolicyError(f"{where}: unknown operator '{name}'.{did_you_mean(base, _KNOWN)}")
    return core, mode, if_exists


def _check_key(key: object, where: str, warnings: list[str]) -> None:
    if not isinstance(key, str) or not key.strip():
        raise PolicyError(f"{where}: a condition key must be a non-empty string such as aws:PrincipalOrgID.")
    lower = key.lower()
    if lower.startswith("vpc-lattice-svcs:") and lower not in _LATTICE_KEYS and not lower.startswith(_LATTICE_PREFIXES):
        hint = did_you_mean(lower, sorted(_LATTICE_KEYS))
        warnings.append(f"{where}: '{key}' is not a VPC Lattice condition key, so requests never have it.{hint}")


def _values(raw: Any, where: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise PolicyError(f"{where}: give at least one value.")
    return tuple(_scalar(item, where) for item in items)


def _scalar(item: Any, where: str) -> str:
    # JSON numbers and booleans are policy values too ("NumericLessThan": {"...:Port": 8080}, "Bool": ... true).
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str | int | float):
        return str(item)
    raise PolicyError(f"{where}: values must be strings, numbers or booleans, not {type(item).__name__}.")


def _compiled(
    name: str,
    base: str,
    key: str,
    values: tuple[str, ...],
    flags: tuple[str | None, bool],
    where: str,
    variables: bool,
) -> Condition:
    if base == "Null":
        _checked(values, _Family("a boolean (true or false)", _bool, False, _boolean), key, where)
        return NullCondition(key, values)
    family, negated = _OPERATORS[base]
    _checked(values, family, key, where)
    parts = tuple(parse_template(value, variables and family.variables) for value in values)
    return Condition(name, key, values, (flags[0], negated, flags[1]), family.build, parts)


def _checked(values: tuple[str, ...], family: _Family, key: str, where: str) -> None:
    if family.check is None:
        return
    for value in values:
        try:
            family.check(value)
        except ValueError:
            raise PolicyError(f"{where}: {key} value '{value}' is not {family.kind}.") from None
