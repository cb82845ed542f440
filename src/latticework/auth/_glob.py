"""IAM wildcards and policy variables: `*` / `?` patterns compiled to regular expressions once, and `${key}`
placeholders resolved against a request. Shared by the Action, Resource and Condition matchers of `policy`.

Pure text work: no I/O, no clock, no module-level mutable state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "Literal",
    "Parts",
    "Variable",
    "compile_patterns",
    "has_wildcards",
    "parse_template",
    "plain_text",
    "resolve",
]

# IAM UG "Variables and tags": `${key}` or `${key, 'default'}`; `${*}`, `${?}` and `${$}` stand for the
# characters themselves; a quote inside a default is written twice.
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,\s][^,]*?)\s*,\s*'((?:[^']|'')*)'\s*$")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True, slots=True)
class Literal:
    """Text that matches itself only: a variable's value, or `${*}`-style escapes (wildcards lose meaning)."""

    text: str


@dataclass(frozen=True, slots=True)
class Variable:
    """A `${key}` placeholder; `key` is lower-case (condition key names are case-insensitive)."""

    key: str
    default: str | None = None


# A policy value: plain `str` pieces keep IAM's wildcard meaning, `Literal` pieces do not, `Variable` pieces
# are filled in per request.
Parts = tuple[str | Literal | Variable, ...]


def parse_template(text: str, variables: bool) -> Parts:
    """Split a policy value into parts. `variables` is False for Version 2008-10-17, where IAM takes `${...}`
    literally (IAM UG "Version": policy variables need 2012-10-17)."""
    if not variables or "${" not in text:
        return (text,)
    parts: list[str | Literal | Variable] = []
    position = 0
    for match in _VARIABLE.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        parts.append(_placeholder(match.group(1)))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return tuple(parts)


def _placeholder(body: str) -> Literal | Variable:
    stripped = body.strip()
    if stripped in _SPECIAL:
        return Literal(_SPECIAL[stripped])
    default = _DEFAULT.match(body)
    if default is not None:
        return Variable(default.group(1).lower(), default.group(2).replace("''", "'"))
    return Variable(stripped.lower())


def resolve(parts: Parts, lookup: Callable[[str], tuple[str, ...] | None]) -> Parts | None:
    """The parts with every variable replaced by its value; None when one has no value and no default.

    IAM UG "Policy variables with no value": a variable that cannot be resolved makes the element containing it
    fail to match; multivalued keys cannot be variables at all (IAM UG "Single-valued vs. multivalued context
    keys"), so a key with several values counts as unresolved too.
    """
    resolved: list[str | Literal | Variable] = []
    for part in parts:
        if not isinstance(part, Variable):
            resolved.append(part)
            continue
        values = lookup(part.key)
        if values is not None and len(values) == 1:
            resolved.append(Literal(values[0]))
        elif part.default is not None:
            resolved.append(Literal(part.default))
        else:
            return None
    return tuple(resolved)


def has_wildcards(parts: Parts) -> bool:
    return any(isinstance(part, str) and ("*" in part or "?" in part) for part in parts)


def plain_text(parts: Parts) -> str:
    """The value as text (wildcards left as characters); variables must be resolved first."""
    return "".join(part if isinstance(part, str) else part.text for part in parts if not isinstance(part, Variable))


def compile_patterns(values: Sequence[Parts], *, ignore_case: bool = False, arn: bool = False) -> re.Pattern[str]:
    """One expression matching any of `values` in full.

    With `arn`, a value with colons is matched segment by segment, so a wildcard stays inside its segment
    except in the sixth, the resource, which may hold colons itself (IAM UG "Condition operators", ARN: "Each
    of the six colon-delimited components of the ARN is checked separately"). A value without colons ("*") is
    a plain pattern over the whole ARN.
    """
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("|".join(f"(?:{_expression(parts, arn)})" for parts in values), flags)


def _expression(parts: Parts, arn: bool) -> str:
    tokens = _tokens(parts)
    segmented = arn and ":" in tokens
    pieces: list[str] = []
    colons = 0
    for token in tokens:
        inside = segmented and colons < 5
        if isinstance(token, str):
            colons += token == ":"
            pieces.append(re.escape(token))
        elif token is _STAR:
            pieces.append("[^:]*" if inside else ".*")
        else:
            pieces.append("[^:]" if inside else ".")
    return "".join(pieces)


class _Wildcard:
    __slots__ = ()


_STAR, _QUESTION = _Wildcard(), _Wildcard()


def _tokens(parts: Parts) -> list[str | _Wildcard]:
    tokens: list[str | _Wildcard] = []
    for part in parts:
        if isinstance(part, str):
            tokens.extend(_STAR if c == "*" else _QUESTION if c == "?" else c for c in part)
        elif isinstance(part, Literal):
            tokens.extend(part.text)
    return tokens
