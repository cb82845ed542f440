"""ALB rule conditions (ELB User Guide, "Listener rules for your Application Load Balancer", condition types):
compiled once from the API's `RuleCondition` shapes, then matched against a request. Pure.

Semantics, from the guide:
- host-header: case-insensitive, wildcards `*` (0+ chars) and `?` (exactly 1); compared with the Host header
  without its port.
- path-pattern: case-sensitive, `*` and `?`; compared with the path only, never the query string.
- http-header: the name compares case-insensitively, the values case-insensitively with `*` and `?`.
- http-request-method: case-sensitive, exact (A-Z, `-`, `_`).
- query-string: key/value pairs, case-insensitive, `*` and `?`; a pair without a key matches any key's value.
- source-ip: CIDR blocks (IPv4 or IPv6) that the client's address (not X-Forwarded-For) falls in.
Values within one condition are ORed; conditions of one rule are ANDed. A rule has at most one each of
host-header, path-pattern, http-request-method and source-ip, and at most 5 condition values in all (ELB quota
"Condition values per rule").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["Condition", "RuleError", "compile_conditions", "matches_all", "wildcard"]

_SINGLE = frozenset({"host-header", "path-pattern", "http-request-method", "source-ip"})
_FIELDS = frozenset({*_SINGLE, "http-header", "query-string"})
_MAX_VALUES = 5
_MAX_VALUE_LENGTH = 128
_METHOD = re.compile(r"[A-Z_-]{1,40}")


class RuleError(ValueError):
    """A condition or action ELBv2 would refuse; the message says what to fix (the API answers ValidationError)."""


@lru_cache(maxsize=4096)
def wildcard(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    """`*` any run of characters, `?` exactly one, `\\*`/`\\?` the literal character; the whole value must match."""
    parts = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
    return re.compile("".join(parts), 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Request:
    """What conditions look at: method, path (no query), raw query, host without port, lower-case headers."""

    method: str
    path: str
    query: str
    host: str
    headers: Mapping[str, str]
    source_ip: str


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    values: tuple[str, ...]
    header: str = ""  # http-header: the lower-case header name
    pairs: tuple[tuple[str | None, str], ...] = ()  # query-string: (key or None, value)

    def matches(self, request: Request) -> bool:
        return _MATCHERS[self.field](self, request)


def _host(condition: Condition, request: Request) -> bool:
    return any(wildcard(v, False).fullmatch(request.host) for v in condition.values)


def _path(condition: Condition, request: Request) -> bool:
    return any(wildcard(v, True).fullmatch(request.path) for v in condition.values)


def _header(condition: Condition, request: Request) -> bool:
    actual = request.headers.get(condition.header)
    return actual is not None and any(wildcard(v, False).fullmatch(actual) for v in condition.values)


def _method(condition: Condition, request: Request) -> bool:
    return request.method in condition.values


def _query(condition: Condition, request: Request) -> bool:
    given = parse_qsl(request.query, keep_blank_values=True)
    return any(_pair_matches(key, value, given) for key, value in condition.pairs)


def _pair_matches(key: str | None, value: str, given: Sequence[tuple[str, str]]) -> bool:
    value_pattern = wildcard(value, False)
    for actual_key, actual_value in given:
        if (key is None or wildcard(key, False).fullmatch(actual_key)) and value_pattern.fullmatch(actual_value):
            return True
    return False


def _source(condition: Condition, request: Request) -> bool:
    try:
        address = ipaddress.ip_address(request.source_ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(v, strict=False) for v in condition.values)


_MATCHERS = {
    "host-header": _host,
    "path-pattern": _path,
    "http-header": _header,
    "http-request-method": _method,
    "query-string": _query,
    "source-ip": _source,
}


def matches_all(conditions: Sequence[Condition], request: Request) -> bool:
    return all(condition.matches(request) for condition in conditions)


# -- compiling the API's shapes ---------------------------------------------------------------------------------


def compile_conditions(given: Sequence[Mapping[str, Any]]) -> tuple[Condition, ...]:
    """The conditions of one non-default rule, checked as CreateRule checks them; raises RuleError."""
    if not given:
        raise RuleError("A rule must have at least one condition; only the listener's default rule has none.")
    compiled = tuple(_condition(c) for c in given)
    fields = [c.field for c in compiled]
    for name in _SINGLE:
        if fields.count(name) > 1:
            raise RuleError(f"A rule can have at most one '{name}' condition.")
    total = sum(len(c.values) + len(c.pairs) for c in compiled)
    if total > _MAX_VALUES:
        raise RuleError(f"A rule can have at most {_MAX_VALUES} condition values in all; this one has {total}.")
    return compiled


def _condition(given: Mapping[str, Any]) -> Condition:
    field = given.get("Field")
    if field not in _FIELDS:
        raise RuleError(f"Condition field '{field}' is not supported; use one of {', '.join(sorted(_FIELDS))}.")
    if given.get("RegexValues"):
        raise RuleError("Regex condition values are not supported by Latticework; use wildcard values.")
    if field == "http-header":
        return _http_header(given.get("HttpHeaderConfig") or {})
    if field == "query-string":
        return _query_string(given.get("QueryStringConfig") or {})
    values = _values(given, field)
    _check_values(field, values)
    return Condition(field, values)


_CONFIG_KEYS = {
    "host-header": "HostHeaderConfig",
    "path-pattern": "PathPatternConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "source-ip": "SourceIpConfig",
}


def _values(given: Mapping[str, Any], field: str) -> tuple[str, ...]:
    """`Values` (the older form, host-header and path-pattern only) or the field's `*Config.Values`."""
    legacy = given.get("Values")
    configured = (given.get(_CONFIG_KEYS[field]) or {}).get("Values")
    if legacy and configured:
        raise RuleError(f"Give the '{field}' values either in Values or in {_CONFIG_KEYS[field]}, not both.")
    if legacy and field not in ("host-header", "path-pattern"):
        raise RuleError(f"A '{field}' condition takes its values in {_CONFIG_KEYS[field]}.Values.")
    values = tuple(legacy or configured or ())
    if not values:
        raise RuleError(f"A '{field}' condition needs at least one value.")
    return values


def _check_values(field: str, values: tuple[str, ...]) -> None:
    for value in values:
        if not value or len(value) > _MAX_VALUE_LENGTH:
            raise RuleError(f"Each '{field}' value must be 1 to {_MAX_VALUE_LENGTH} characters long.")
        if field == "http-request-method" and not _METHOD.fullmatch(value):
            raise RuleError(f"HTTP request method '{value}' may contain only A-Z, '-' and '_'.")
        if field == "source-ip":
            _check_cidr(value)


def _check_cidr(value: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise RuleError(f"'{value}' is not a CIDR block (e.g. 10.0.0.0/16 or 2001:db8::/32).") from None
    if "/" not in value:
        raise RuleError(f"Source IP '{value}' must be in CIDR notation (e.g. {value}/32).")


def _http_header(config: Mapping[str, Any]) -> Condition:
    name = str(config.get("HttpHeaderName") or "")
    if not name or len(name) > 40:
        raise RuleError("An http-header condition needs HttpHeaderConfig.HttpHeaderName (1 to 40 characters).")
    values = tuple(config.get("Values") or ())
    if not values:
        raise RuleError("An http-header condition needs at least one value in HttpHeaderConfig.Values.")
    _check_values("http-header", values)
    return Condition("http-header", values, header=name.lower())


def _query_string(config: Mapping[str, Any]) -> Condition:
    pairs = tuple((p.get("Key") or None, str(p.get("Value") or "")) for p in config.get("Values") or ())
    if not pairs or any(not value for _, value in pairs):
        raise RuleError("A query-string condition needs QueryStringConfig.Values, each with a Value (Key optional).")
    return Condition("query-string", (), pairs=pairs)
