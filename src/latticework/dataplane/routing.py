"""Listener rules, compiled once per config snapshot, and the choices a request goes through: which rule
matches, which target group a forward picks by weight, which target inside it (round robin over healthy targets,
fail-open when none is healthy).

Pure: no sockets, no clock, no randomness of its own (callers pass the random draw and the round-robin counter).
Semantics from the Lattice User Guide "Listener rules" and "Target groups", collected in reference 2.2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Action",
    "FixedResponse",
    "Forward",
    "HeaderMatch",
    "HttpMatch",
    "PathMatch",
    "Rule",
    "WeightedGroup",
    "choose_group",
    "choose_target",
    "compile_action",
    "compile_rule",
    "round_robin_candidates",
    "select_rule",
    "sort_rules",
]


@dataclass(frozen=True, slots=True)
class PathMatch:
    kind: str  # "exact" | "prefix"
    value: str
    case_sensitive: bool

    def __post_init__(self) -> None:
        if not self.case_sensitive:  # lower-cased once here, not per request
            object.__setattr__(self, "value", self.value.lower())

    def matches(self, path: str) -> bool:
        # Lattice UG "Listener rules": no wildcards; prefix is a plain string prefix of the path (no query).
        actual = path if self.case_sensitive else path.lower()
        return actual == self.value if self.kind == "exact" else actual.startswith(self.value)


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    name: str  # lower-case: header names always compare case-insensitively
    kind: str  # "exact" | "prefix" | "contains"
    value: str
    case_sensitive: bool

    def __post_init__(self) -> None:
        if not self.case_sensitive:  # lower-cased once here, not per request
            object.__setattr__(self, "value", self.value.lower())

    def matches(self, headers: Mapping[str, str]) -> bool:
        actual = headers.get(self.name)
        if actual is None:
            return False
        wanted = self.value
        if not self.case_sensitive:
            # Lattice UG: "The header name and the match evaluation are not case sensitive" unless turned on.
            actual = actual.lower()
        if self.kind == "exact":
            return actual == wanted
        if self.kind == "prefix":
            return actual.startswith(wanted)
        return wanted in actual


@dataclass(frozen=True, slots=True)
class HttpMatch:
    method: str | None
    path: PathMatch | None
    headers: tuple[HeaderMatch, ...]

    def matches(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        # Every present condition must hold. Method match is case-sensitive and exact (UG "Listener rules").
        if self.method is not None and method != self.method:
            return False
        if self.path is not None and not self.path.matches(path):
            return False
        return all(h.matches(headers) for h in self.headers)


@dataclass(frozen=True, slots=True)
class WeightedGroup:
    target_group_id: str
    weight: int


@dataclass(frozen=True, slots=True)
class Forward:
    groups: tuple[WeightedGroup, ...]
    total: int = field(init=False, compare=False, repr=False)  # the weights' sum, for choose_group

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum(g.weight for g in self.groups))


@dataclass(frozen=True, slots=True)
class FixedResponse:
    status: int


Action = Forward | FixedResponse


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    priority: int | None  # None for the default rule, which is evaluated last
    match: HttpMatch | None
    action: Action


def compile_rule(doc: Mapping[str, Any]) -> Rule:
    """A rule from its API document (`match`, `action`, `priority`, `isDefault`)."""
    http = (doc.get("match") or {}).get("httpMatch")
    default = bool(doc.get("isDefault"))
    return Rule(
        id=str(doc.get("id", "")),
        priority=None if default else int(doc["priority"]),
        match=None if default or http is None else _compile_match(http),
        action=compile_action(doc["action"]),
    )


def _compile_match(http: Mapping[str, Any]) -> HttpMatch:
    path = http.get("pathMatch")
    return HttpMatch(
        method=http.get("method") or None,
        path=_compile_path(path) if path else None,
        headers=tuple(_compile_header(h) for h in http.get("headerMatches") or ()),
    )


def _compile_path(path: Mapping[str, Any]) -> PathMatch:
    kind, value = next(iter(path["match"].items()))
    return PathMatch(kind, value, bool(path.get("caseSensitive", False)))


def _compile_header(header: Mapping[str, Any]) -> HeaderMatch:
    kind, value = next(iter(header["match"].items()))
    return HeaderMatch(header["name"].lower(), kind, value, bool(header.get("caseSensitive", False)))


def compile_action(action: Mapping[str, Any]) -> Action:
    if "fixedResponse" in action:
        return FixedResponse(int(action["fixedResponse"]["statusCode"]))
    groups = action["forward"]["targetGroups"]
    # API reference WeightedTargetGroup: a sole target group without a weight takes all traffic.
    return Forward(tuple(WeightedGroup(g["targetGroupIdentifier"], int(g.get("weight", 100))) for g in groups))


def select_rule(rules: Sequence[Rule], method: str, path: str, headers: Mapping[str, str]) -> Rule | None:
    """The first matching rule in ascending priority, the default rule last. `rules` must be pre-sorted by
    `sort_rules`; returns None only if there is no default rule."""
    for rule in rules:
        if rule.match is None or rule.match.matches(method, path, headers):
            return rule
    return None


def sort_rules(rules: Sequence[Rule]) -> tuple[Rule, ...]:
    """Ascending priority (lower first), the default rule last: the order the matcher walks."""
    return tuple(sorted(rules, key=lambda r: (r.priority is None, r.priority or 0)))


def choose_group(forward: Forward, draw: float) -> str | None:
    """The target group a weighted forward picks for a uniform `draw` in [0, 1); None if every weight is 0."""
    total = forward.total
    if total == 0:
        return None
    point = draw * total
    for group in forward.groups:
        if point < group.weight:
            return group.target_group_id
        point -= group.weight
    return next(g.target_group_id for g in reversed(forward.groups) if g.weight)


def round_robin_candidates(targets: Sequence[str], healthy: frozenset[str]) -> list[str]:
    """The targets round robin walks: the healthy ones; when none is healthy, all of them (UG "Target groups":
    a group with only unhealthy targets routes to all targets regardless of health)."""
    return [t for t in targets if t in healthy] or list(targets)


def choose_target(targets: Sequence[str], healthy: frozenset[str], counter: int) -> str | None:
    """Round robin over `round_robin_candidates`."""
    candidates = round_robin_candidates(targets, healthy)
    if not candidates:
        return None
    return candidates[counter % len(candidates)]
