"""The policy engine's shared values: `PolicyError`, the request a policy is asked about (`RequestContext`),
how a condition key is read from it, and `ElementResult`, the "why" of one policy element.

Condition keys about the caller (aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:PrincipalOrgID,
aws:PrincipalTag/*, aws:username) are derived here from the authenticated `Principal`, never taken from the
caller-built key mapping, so a request can never claim them. Pure: no I/O, no clock.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from latticework.auth.principals import Principal

__all__ = [
    "ElementResult",
    "FoldedKeys",
    "KeyReader",
    "PolicyError",
    "RequestContext",
    "did_you_mean",
    "key_reader",
]

Values = tuple[str, ...]


class PolicyError(ValueError):
    """A policy document that cannot be evaluated. The message names the problem and where it is, e.g.
    "Statement[1].Condition: unknown operator 'StringEqual'. Did you mean StringEquals?"; the control plane
    returns it as a ValidationException from PutAuthPolicy."""


class FoldedKeys(Mapping[str, Values]):
    """Marker base for a key mapping whose lookups already ignore case (or that holds lower-case names only).

    A plain mapping is folded to lower-case names once per request the first time a key is missing; a
    `FoldedKeys` is trusted and never folded, so a lazily computed mapping is never enumerated.
    """


@dataclass(slots=True)  # not frozen: built per request, and a frozen __init__ costs ~3x (bench/auth.py)
class RequestContext:
    """One authorization question: may `principal` perform `action` on `resource`, given these keys?"""

    action: str  # "vpc-lattice-svcs:Invoke"
    resource: str  # f"{service_arn}{raw_path}", e.g. arn:aws:vpc-lattice:...:service/svc-0123456789abcdef0/rates
    principal: Principal | None  # None: anonymous (aws:PrincipalType "Anonymous")
    keys: Mapping[str, Values] = field(default_factory=dict)  # condition key -> values; names case-insensitive
    _folded: dict[str, Values] | None = field(default=None, init=False, repr=False, compare=False)

    def value_of(self, key: str) -> Values | None:
        """The values of condition key `key` (lower-case name), None when the request does not have it."""
        reader = _PRINCIPAL_KEYS.get(key)
        if reader is not None:
            return reader(self.principal)
        if key.startswith(_PRINCIPAL_TAG):
            return _principal_tag(self.principal, key[len(_PRINCIPAL_TAG) :])
        return _non_empty(self._lookup(key, key))

    def _lookup(self, key: str, written: str) -> Values | None:
        keys = self.keys
        values = keys.get(key)
        if values is None and written != key:
            values = keys.get(written)
        if values is None and not isinstance(keys, FoldedKeys):
            values = self._fold().get(key)
        return values

    def _fold(self) -> dict[str, Values]:
        folded = self._folded
        if folded is None:
            folded = {name.lower(): values for name, values in self.keys.items()}
            self._folded = folded
        return folded


KeyReader = Callable[[RequestContext], "Values | None"]


def key_reader(written: str) -> KeyReader:
    """How to read condition key `written` (as the policy spells it) from a request; decided once at compile."""
    key = written.lower()
    principal_reader = _PRINCIPAL_KEYS.get(key)
    if principal_reader is not None:
        return lambda request: principal_reader(request.principal)
    if key.startswith(_PRINCIPAL_TAG):
        tag = key[len(_PRINCIPAL_TAG) :]
        return lambda request: _principal_tag(request.principal, tag)

    def read(request: RequestContext) -> Values | None:
        values = request.keys.get(key)
        return values if values else _non_empty(request._lookup(key, written))

    return read


def _non_empty(values: Values | None) -> Values | None:
    # An empty value list is the same as no key: nothing to compare, Null says "true".
    return values if values else None


# IAM UG "AWS global condition context keys", principal properties.
_PRINCIPAL_TAG = "aws:principaltag/"


def _principal_arn(principal: Principal | None) -> Values | None:
    # aws:PrincipalArn: "For IAM roles, the request context returns the ARN of the role, not the ARN of the
    # user that assumed the role" - an assumed-role session reports its role.
    if principal is None:
        return None
    return (principal.role_arn or principal.arn,)


def _principal_account(principal: Principal | None) -> Values | None:
    return (principal.account,) if principal is not None else None


def _principal_type(principal: Principal | None) -> Values | None:
    # Lattice UG "Auth policies": unsigned callers have aws:PrincipalType "Anonymous".
    return (principal.type,) if principal is not None else ("Anonymous",)


def _principal_org(principal: Principal | None) -> Values | None:
    return (principal.org_id,) if principal is not None and principal.org_id else None


def _user_name(principal: Principal | None) -> Values | None:
    # aws:username is "included in the request context for IAM users" only.
    if principal is None or principal.type != "User":
        return None
    return (principal.arn.rsplit("/", 1)[1],)


def _principal_tag(principal: Principal | None, tag: str) -> Values | None:
    # Tag keys of one IAM principal are unique without regard to case, so the lookup ignores case.
    if principal is None:
        return None
    for name, value in principal.tags.items():
        if name.lower() == tag:
            return (value,)
    return None


_PRINCIPAL_KEYS: dict[str, Callable[[Principal | None], Values | None]] = {
    "aws:principalarn": _principal_arn,
    "aws:principalaccount": _principal_account,
    "aws:principaltype": _principal_type,
    "aws:principalorgid": _principal_org,
    "aws:username": _user_name,
}


@dataclass(frozen=True, slots=True)
class ElementResult:
    """The verdict of one policy element on one request, with the values both sides brought."""

    element: str  # Principal, NotPrincipal, Action, NotAction, Resource, NotResource or Condition
    policy_values: tuple[str, ...]  # as the policy writes them
    request_values: Values | None  # None: the request has no such value (an absent condition key)
    matched: bool
    operator: str | None = None  # conditions only, as written: "ForAnyValue:StringEqualsIgnoreCase"
    key: str | None = None  # conditions only, as written

    def describe(self) -> str:
        """One line for the explainer: what was compared and how it came out."""
        verdict = "holds" if self.matched else "fails"
        wanted = ", ".join(self.policy_values)
        label = self.element if self.operator is None else f"{self.operator} {self.key}"
        return f"{label}: request {_shown(self.request_values)}; policy [{wanted}] -> {verdict}"


def _shown(values: Values | None) -> str:
    return "has no value" if values is None else "[" + ", ".join(values) + "]"


def did_you_mean(word: str, known: Sequence[str]) -> str:
    """ " Did you mean X?" for the closest known name (or one differing only in case), else ""."""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if not close:
        close = [name for name in known if name.lower() == word.lower()]
    return f" Did you mean {close[0]}?" if close else ""
