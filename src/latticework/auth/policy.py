"""IAM policies for VPC Lattice: parse and validate a JSON document once (`compile_policy`), then evaluate it
per request in microseconds (`Policy.evaluate`), with every statement's "why" available for the explainer.

Semantics are IAM's (IAM UG "Policy evaluation logic", "IAM JSON policy elements"): a statement applies when
its Principal, Action, Resource and every Condition match; any applying Deny gives DENY, else any applying
Allow gives ALLOW, else NO_MATCH (an implicit deny). Auth policies are resource policies (Lattice UG "Auth
policies": they need a Principal and take only `vpc-lattice-svcs:` actions); identity policies have no Principal.
Pure: no I/O, no clock. Principal/Action/Resource matching lives in `_elements`, condition operators in
`_conditions`, wildcards and policy variables in `_glob`, the request and its condition keys in `_request`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from latticework.auth._conditions import Condition, compile_conditions
from latticework.auth._elements import (
    Patterns,
    PolicyKind,
    Principals,
    action_element,
    principal_element,
    resource_element,
)
from latticework.auth._request import ElementResult, FoldedKeys, PolicyError, RequestContext

__all__ = [
    "ElementResult",
    "Evaluation",
    "FoldedKeys",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "RequestContext",
    "Statement",
    "StatementResult",
    "compile_policy",
]

StatementEffect = Literal["Allow", "Deny"]

# IAM UG "Version": 2012-10-17 is current; 2008-10-17 is the default when Version is left out (and what
# Lattice's PutAuthPolicy stores then), and takes `${...}` literally.
_VERSIONS = ("2012-10-17", "2008-10-17")
_DEFAULT_VERSION = "2008-10-17"
_DOCUMENT_ELEMENTS = ("Version", "Id", "Statement")
_STATEMENT_ELEMENTS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)


@dataclass(frozen=True, slots=True)
class Statement:
    """One compiled statement; `applies` is the hot path, `explain` the explainer's."""

    index: int
    sid: str | None
    effect: StatementEffect
    principal: Principals | None  # None in identity policies
    action: Patterns
    resource: Patterns
    conditions: tuple[Condition, ...]

    def applies(self, request: RequestContext) -> bool:
        # Cheapest checks first; all must hold (IAM UG "Policy evaluation logic").
        if not self.action.matches(request.action, request):
            return False
        if not self.resource.matches(request.resource, request):
            return False
        if self.principal is not None and not self.principal.matches(request.principal):
            return False
        for condition in self.conditions:  # noqa: SIM110 - a plain loop; all() with a generator costs ~0.4 us here
            if not condition(request):
                return False
        return True

    def explain(self, request: RequestContext) -> tuple[ElementResult, ...]:
        """Every element's verdict, none skipped."""
        found = [] if self.principal is None else [self.principal.explain(request.principal)]
        found.append(self.action.explain(request.action, request))
        found.append(self.resource.explain(request.resource, request))
        found.extend(condition.explain(request) for condition in self.conditions)
        return tuple(found)


@dataclass(frozen=True, slots=True)
class StatementResult:
    """A statement's verdict on one request and the elements behind it."""

    index: int
    sid: str | None
    effect: StatementEffect
    matched: bool
    elements: tuple[ElementResult, ...]

    def describe(self) -> list[str]:
        name = f"Statement[{self.index}]" + (f" ({self.sid})" if self.sid else "")
        verdict = "applies" if self.matched else "does not apply"
        return [f"{name} {self.effect}: {verdict}"] + [f"  {element.describe()}" for element in self.elements]


@dataclass(slots=True)  # not frozen: built per request, and a frozen __init__ costs ~3x (bench/auth.py)
class Evaluation:
    """A policy's answer for one request. `statements` (every statement, in order, with its elements) is
    worked out when asked for, so the request path pays only for the verdicts."""

    effect: Literal["ALLOW", "DENY", "NO_MATCH"]
    matched: tuple[bool, ...]  # per statement
    policy: Policy = field(repr=False, compare=False)
    request: RequestContext = field(repr=False, compare=False)

    @property
    def statements(self) -> tuple[StatementResult, ...]:
        return tuple(_result(s, self.request, hit) for s, hit in zip(self.policy.statements, self.matched, strict=True))

    def describe(self) -> list[str]:
        """Explainer lines: the effect, then each statement and why it applied or not."""
        lines = [f"{self.effect}"]
        for result in self.statements:
            lines.extend(f"  {line}" for line in result.describe())
        return lines


def _result(statement: Statement, request: RequestContext, hit: bool) -> StatementResult:
    return StatementResult(statement.index, statement.sid, statement.effect, hit, statement.explain(request))


@dataclass(frozen=True, slots=True)
class Policy:
    """A compiled policy document; build with `compile_policy`, once per config snapshot."""

    version: str
    kind: PolicyKind
    statements: tuple[Statement, ...]
    warnings: tuple[str, ...] = ()  # things that evaluate but probably are not what the author meant

    def evaluate(self, request: RequestContext) -> Evaluation:
        """Any applying Deny -> DENY; else any applying Allow -> ALLOW; else NO_MATCH. Never raises."""
        effect: Literal["ALLOW", "DENY", "NO_MATCH"] = "NO_MATCH"
        matched = []
        for statement in self.statements:
            hit = statement.applies(request)
            matched.append(hit)
            if hit and effect != "DENY":
                effect = "DENY" if statement.effect == "Deny" else "ALLOW"
        return Evaluation(effect, tuple(matched), self, request)


# -- compiling a document --------------------------------------------------------------------------------------


def compile_policy(document: str, kind: PolicyKind = "resource") -> Policy:
    """Parse and check `document`; PolicyError says what is wrong and where. `kind` "resource" is an auth policy
    (Principal required, `vpc-lattice-svcs:` actions only); "identity" is a caller's IAM policy (no Principal)."""
    data = _document(document)
    version = data.get("Version", _DEFAULT_VERSION)
    if version not in _VERSIONS:
        raise PolicyError(f"Version: '{version}' is not a policy language version. Use \"2012-10-17\".")
    if not isinstance(data.get("Id", ""), str):
        raise PolicyError("Id: must be a string.")
    warnings: list[str] = []
    raw = _statement_list(data)
    statements = tuple(
        _statement(item, index, kind, version == "2012-10-17", warnings) for index, item in enumerate(raw)
    )
    return Policy(version, kind, statements, tuple(warnings))


def _document(document: str) -> dict[str, Any]:
    if not isinstance(document, str):
        raise PolicyError("Policy: must be a JSON text.")
    try:
        data = json.loads(document, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"Policy: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except RecursionError:
        raise PolicyError("Policy: nested too deeply to be a policy document.") from None
    if not isinstance(data, dict):
        raise PolicyError('Policy: must be a JSON object such as {"Version": "2012-10-17", "Statement": [...]}.')
    _known_elements(data, _DOCUMENT_ELEMENTS, "Policy")
    return data


def _no_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity; JSON (RFC 8259 section 6) has no such numbers.
    raise PolicyError(f"Policy: not valid JSON: {name} is not a JSON value.")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Deviation: json keeps the last of two equal keys silently; a second "StringEquals" block would drop the
    # first one's keys, so a duplicate is reported instead.
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise PolicyError(f"Policy: '{key}' appears twice in one object; merge its contents into one.")
        found[key] = value
    return found


def _known_elements(data: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    for name in data:
        if name not in known:
            raise PolicyError(f"{where}: unknown element '{name}'.{_hint(name, known)}")


def _hint(word: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f" Did you mean {close[0]}?" if close else f" Known elements: {', '.join(known)}."


def _statement_list(data: Mapping[str, Any]) -> list[Any]:
    raw = data.get("Statement")
    if raw is None:
        raise PolicyError('Policy: no Statement. Add "Statement": [{"Effect": "Allow", ...}].')
    items = raw if isinstance(raw, list) else [raw]  # IAM takes one statement object as well as a list
    if not items:
        raise PolicyError("Statement: empty; a policy needs at least one statement.")
    return items


def _statement(raw: Any, index: int, kind: PolicyKind, variables: bool, warnings: list[str]) -> Statement:
    where = f"Statement[{index}]"
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: must be an object with Effect, Principal, Action, Resource.")
    _known_elements(raw, _STATEMENT_ELEMENTS, where)
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyError(f"{where}.Sid: must be a string.")
    conditions = raw.get("Condition")
    return Statement(
        index,
        sid,
        _effect(raw.get("Effect"), where),
        principal_element(raw, kind, where),
        action_element(raw, kind, where),
        resource_element(raw, variables, where),
        () if conditions is None else compile_conditions(conditions, f"{where}.Condition", variables, warnings),
    )


def _effect(value: Any, where: str) -> StatementEffect:
    if value == "Allow":
        return "Allow"
    if value == "Deny":
        return "Deny"
    hint = _hint(str(value), ["Allow", "Deny"]) if isinstance(value, str) else ""
    raise PolicyError(f'{where}.Effect: must be "Allow" or "Deny", not {json.dumps(value)}.{hint}')
