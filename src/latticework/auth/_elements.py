"""The Principal, Action and Resource elements of a statement (and their Not- forms): checked and compiled
once, matched per request. IAM UG "IAM JSON policy elements: Principal / NotPrincipal / Action / Resource".

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from latticework.auth._glob import Parts, compile_patterns, has_wildcards, parse_template, plain_text, resolve
from latticework.auth._request import ElementResult, PolicyError, RequestContext, did_you_mean
from latticework.auth.principals import Principal

__all__ = ["Patterns", "Principals", "action_element", "principal_element", "resource_element"]

# resource: an auth policy (Principal, vpc-lattice-svcs: actions); identity: an IAM identity policy (no
# Principal); sharing: a resource-based sharing policy (PutResourcePolicy: Principal, any service's actions).
PolicyKind = Literal["resource", "identity", "sharing"]

_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
_LATTICE_PREFIX = "vpc-lattice-svcs"
_ACCOUNT = re.compile(r"^\d{12}$")
_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")
_IDENTITY = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::\d{12}:(?:user|role|assumed-role|federated-user)/\S+$")


@dataclass(frozen=True, slots=True)
class Principals:
    """A Principal or NotPrincipal element: "*", accounts (all principals of the account) and identity ARNs."""

    element: str
    written: tuple[str, ...]
    anyone: bool = False
    accounts: frozenset[str] = frozenset()
    arns: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()  # named roles as their sessions' ARN prefix: arn:...:sts::ACCT:assumed-role/R

    def matches(self, principal: Principal | None) -> bool:
        if self.element == "Principal":
            return self._names(principal)
        return not self._exempts(principal)

    def _names(self, principal: Principal | None) -> bool:
        # IAM UG "Principal": "*" is everyone, anonymous callers included; an account (id or :root ARN) stands
        # for every principal in it; a role ARN also names the sessions of that role.
        if self.anyone:
            return True
        if principal is None:
            return False
        if principal.account in self.accounts or principal.arn in self.arns:
            return True
        return principal.type == "AssumedRole" and principal.arn.rsplit("/", 1)[0] in self.roles

    def _exempts(self, principal: Principal | None) -> bool:
        # IAM UG "NotPrincipal": AWS may check the account, then the role, then the session, so a caller
        # escapes the statement only when every identity it acts as is listed (the account included).
        if self.anyone:
            return True
        if principal is None or principal.account not in self.accounts:
            return False
        if principal.type == "Account":
            return True
        if principal.type == "AssumedRole" and principal.arn.rsplit("/", 1)[0] not in self.roles:
            return False
        return principal.arn in self.arns

    def explain(self, principal: Principal | None) -> ElementResult:
        caller = (principal.arn,) if principal is not None else ("anonymous",)
        return ElementResult(self.element, self.written, caller, self.matches(principal))


def _sessions_of(role_arn: str) -> str:
    """arn:aws:iam::ACCT:role/path/R -> arn:aws:sts::ACCT:assumed-role/R (session ARNs carry no role path)."""
    head, name = role_arn.split(":role/", 1)
    partition, account = head.split(":")[1], head.rsplit(":", 1)[1]
    return f"arn:{partition}:sts::{account}:assumed-role/{name.rsplit('/', 1)[-1]}"


@dataclass(frozen=True, slots=True)
class Patterns:
    """An Action/NotAction or Resource/NotResource element: `*`/`?` patterns, exact names kept in a set."""

    element: str
    written: tuple[str, ...]
    ignore_case: bool
    anything: bool = False
    exact: frozenset[str] = frozenset()
    pattern: re.Pattern[str] | None = None
    templates: tuple[Parts, ...] = ()  # values with policy variables, resolved per request
    negated: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "negated", self.element.startswith("Not"))

    def matches(self, value: str, request: RequestContext) -> bool:
        return self._hit(value, request) != self.negated

    def _hit(self, value: str, request: RequestContext) -> bool:
        if self.anything:
            return True
        if self.ignore_case:
            value = value.lower()
        if value in self.exact or (self.pattern is not None and self.pattern.fullmatch(value) is not None):
            return True
        return bool(self.templates) and _templated_hit(self.templates, value, request)

    def explain(self, value: str, request: RequestContext) -> ElementResult:
        return ElementResult(self.element, self.written, (value,), self.matches(value, request))


def _templated_hit(templates: tuple[Parts, ...], value: str, request: RequestContext) -> bool:
    resolved = [parts for parts in (resolve(t, request.value_of) for t in templates) if parts is not None]
    return bool(resolved) and compile_patterns(resolved).fullmatch(value) is not None


def _one_of(raw: Mapping[str, Any], names: tuple[str, str], where: str) -> str | None:
    present = [name for name in names if name in raw]
    if len(present) > 1:
        raise PolicyError(f"{where}: use {names[0]} or {names[1]}, not both.")
    return present[0] if present else None


def _required(raw: Mapping[str, Any], names: tuple[str, str], where: str) -> str:
    name = _one_of(raw, names, where)
    if name is None:
        raise PolicyError(f"{where}: {names[0]} (or {names[1]}) is required.")
    return name


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PolicyError(f"{where}: give at least one value.")
    if not all(isinstance(item, str) and item for item in items):
        raise PolicyError(f"{where}: values must be non-empty strings.")
    return tuple(items)


# -- Principal / NotPrincipal ------------------------------------------------------------------------------------


def principal_element(raw: Mapping[str, Any], kind: PolicyKind, where: str) -> Principals | None:
    name = _one_of(raw, ("Principal", "NotPrincipal"), where)
    if kind == "identity":
        if name is not None:
            raise PolicyError(f"{where}.{name}: an identity policy takes no {name}; it applies to its identity.")
        return None
    if name is None:
        raise PolicyError(
            f"{where}: a resource-based policy (an auth or sharing policy) needs a Principal; "
            'use "Principal": "*" for every caller.'
        )
    return _principals(name, raw[name], f"{where}.{name}")


def _principals(element: str, value: Any, where: str) -> Principals:
    if value == "*":
        return Principals(element, ("*",), anyone=True)
    if not isinstance(value, dict) or not value:
        raise PolicyError(f'{where}: must be "*" or an object such as {{"AWS": ["arn:aws:iam::111122223333:root"]}}.')
    written: list[str] = []
    accounts: set[str] = set()
    arns: set[str] = set()
    anyone = False
    for principal_type, names in value.items():
        if principal_type not in _PRINCIPAL_TYPES:
            raise PolicyError(
                f"{where}: unknown principal type '{principal_type}'.{did_you_mean(principal_type, _PRINCIPAL_TYPES)}"
            )
        for name in _strings(names, f"{where}.{principal_type}"):
            written.append(name)
            if principal_type != "AWS":
                continue  # services, federated and canonical users never call Lattice with SigV4 here
            anyone, account, arn = _aws_principal(name, f"{where}.AWS", anyone)
            accounts.update(account)
            arns.update(arn)
    roles = frozenset(_sessions_of(arn) for arn in arns if ":role/" in arn)
    return Principals(element, tuple(written), anyone, frozenset(accounts), frozenset(arns), roles)


def _aws_principal(name: str, where: str, anyone: bool) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    if name == "*":
        return True, (), ()  # IAM UG: {"AWS": "*"} is the same as "*"
    if _ACCOUNT.match(name):
        return anyone, (name,), ()
    root = _ROOT.match(name)
    if root is not None:
        return anyone, (root.group(1),), ()
    if "*" in name or "?" in name:
        raise PolicyError(
            f'{where}: \'{name}\': a principal cannot be a wildcard pattern (IAM UG "Principal"). Use "*" with an '
            "ArnLike condition on aws:PrincipalArn."
        )
    if _IDENTITY.match(name) is None:
        raise PolicyError(
            f"{where}: '{name}' is not a principal. Use an account id, arn:aws:iam::ACCOUNT:root, or a user, role "
            "or assumed-role session ARN."
        )
    return anyone, (), (name,)


# -- Action / NotAction, Resource / NotResource ------------------------------------------------------------------


def action_element(raw: Mapping[str, Any], kind: PolicyKind, where: str) -> Patterns:
    element = _required(raw, ("Action", "NotAction"), where)
    names = _strings(raw[element], f"{where}.{element}")
    for name in names:
        _check_action(name, kind, f"{where}.{element}")
    exact = frozenset(name.lower() for name in names if not has_wildcards((name,)))
    wild = [(name.lower(),) for name in names if has_wildcards((name,))]
    # IAM UG "Action": action names are case-insensitive.
    pattern = compile_patterns(wild) if wild else None
    return Patterns(element, names, True, "*" in names, exact, pattern)


def _check_action(name: str, kind: PolicyKind, where: str) -> None:
    if name == "*":
        return
    if ":" not in name:
        raise PolicyError(f"{where}: '{name}' needs a service prefix, e.g. {_LATTICE_PREFIX}:Invoke.")
    prefix = name.split(":", 1)[0].lower()
    if kind == "resource" and not compile_patterns([(prefix,)]).fullmatch(_LATTICE_PREFIX):
        raise PolicyError(
            f"{where}: '{name}' is not a VPC Lattice action; auth policies take {_LATTICE_PREFIX}:Invoke, "
            f'{_LATTICE_PREFIX}:Connect or {_LATTICE_PREFIX}:* (Lattice UG "Auth policies").'
        )


def resource_element(raw: Mapping[str, Any], variables: bool, where: str) -> Patterns:
    element = _required(raw, ("Resource", "NotResource"), where)
    names = _strings(raw[element], f"{where}.{element}")
    parts = [parse_template(name, variables) for name in names]
    static = [p for p in parts if len(p) == 1 and isinstance(p[0], str)]
    templates = tuple(p for p in parts if not (len(p) == 1 and isinstance(p[0], str)))
    exact = frozenset(plain_text(p) for p in static if not has_wildcards(p))
    wild = [p for p in static if has_wildcards(p)]
    # Lattice UG "Auth policies", resource format: `<serviceARN>/<path>`, case-sensitive; "*/rates" and "*/*"
    # are patterns over the whole string.
    pattern = compile_patterns(wild) if wild else None
    return Patterns(element, names, False, "*" in names, exact, pattern, templates)
