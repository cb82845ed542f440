"""ALB rule actions (ELB User Guide, "Listener rules for your Application Load Balancer", action types):
forward (one target group, or up to 5 weighted ones with optional group stickiness), fixed-response and
redirect, compiled once from the API's `Action` shapes. Also the redirect's target URL, with the reserved
keywords #{protocol}, #{host}, #{port}, #{path} and #{query}. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from latticework.dataplane.alb.conditions import RuleError

__all__ = ["Fixed", "Forward", "Redirect", "RuleAction", "compile_actions", "forwarded_groups", "redirect_location"]

_MAX_GROUPS = 5
_MAX_WEIGHT = 999
_MAX_STICKINESS_SECONDS = 604800  # 7 days (API reference, TargetGroupStickinessConfig.DurationSeconds)
_STATUS = re.compile(r"[245]\d\d")
_CONTENT_TYPES = frozenset({"text/plain", "text/css", "text/html", "application/javascript", "application/json"})
_MAX_MESSAGE = 1024
_UNSUPPORTED = frozenset({"authenticate-oidc", "authenticate-cognito", "jwt-validation"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Forward:
    groups: tuple[tuple[str, int], ...]  # (target group ARN, weight)
    stickiness_seconds: int | None = None  # group-level stickiness (cookie AWSALBTG) when on


@dataclass(frozen=True, slots=True)
class Fixed:
    status: int
    content_type: str
    body: str


@dataclass(frozen=True, slots=True)
class Redirect:
    protocol: str  # HTTP | HTTPS | #{protocol}
    port: str
    host: str
    path: str
    query: str
    status: int  # 301 | 302


RuleAction = Forward | Fixed | Redirect


def compile_actions(given: Sequence[Mapping[str, Any]], listener_protocol: str) -> RuleAction:
    """The one terminal action of a rule (actions run by `Order`; Latticework has no authenticate actions)."""
    if not given:
        raise RuleError("A rule needs exactly one forward, fixed-response or redirect action.")
    ordered = sorted(given, key=lambda a: int(a.get("Order") or 0))
    for action in ordered:
        if action.get("Type") in _UNSUPPORTED:
            raise RuleError(f"Action type {action['Type']} is not supported by Latticework.")
    if len(ordered) > 1:
        raise RuleError("A rule can have only one forward, fixed-response or redirect action, and it comes last.")
    return _action(ordered[0], listener_protocol)


def _action(action: Mapping[str, Any], listener_protocol: str) -> RuleAction:
    kind = action.get("Type")
    if kind == "forward":
        return _forward(action)
    if kind == "fixed-response":
        return _fixed(action.get("FixedResponseConfig") or {})
    if kind == "redirect":
        return _redirect(action.get("RedirectConfig") or {}, listener_protocol)
    raise RuleError(f"Action type '{kind}' is not valid; use forward, fixed-response or redirect.")


def _forward(action: Mapping[str, Any]) -> Forward:
    config = action.get("ForwardConfig") or {}
    groups = tuple((g["TargetGroupArn"], int(g.get("Weight", 1))) for g in config.get("TargetGroups") or ())
    single = action.get("TargetGroupArn")
    if single and groups and (len(groups) != 1 or groups[0][0] != single):
        raise RuleError("TargetGroupArn and ForwardConfig must name the same single target group when both given.")
    if not groups and not single:
        raise RuleError("A forward action needs TargetGroupArn or ForwardConfig.TargetGroups.")
    groups = groups or ((single, 1),)
    if len(groups) > _MAX_GROUPS or len({arn for arn, _ in groups}) != len(groups):
        raise RuleError(f"A forward action takes 1 to {_MAX_GROUPS} distinct target groups.")
    if any(not 0 <= weight <= _MAX_WEIGHT for _, weight in groups):
        raise RuleError(f"Target group weights must be between 0 and {_MAX_WEIGHT}.")
    return Forward(groups, _stickiness(config.get("TargetGroupStickinessConfig") or {}))


def _stickiness(config: Mapping[str, Any]) -> int | None:
    if not config.get("Enabled"):
        return None
    seconds = int(config.get("DurationSeconds") or 0)
    if not 1 <= seconds <= _MAX_STICKINESS_SECONDS:
        raise RuleError(f"Stickiness DurationSeconds must be between 1 and {_MAX_STICKINESS_SECONDS}.")
    return seconds


def _fixed(config: Mapping[str, Any]) -> Fixed:
    status = str(config.get("StatusCode") or "")
    if not _STATUS.fullmatch(status):
        raise RuleError(f"Fixed-response StatusCode '{status}' must be a 2XX, 4XX or 5XX code.")
    content_type = config.get("ContentType") or "text/plain"
    if content_type not in _CONTENT_TYPES:
        raise RuleError(f"ContentType '{content_type}' is not valid; use one of {', '.join(sorted(_CONTENT_TYPES))}.")
    body = config.get("MessageBody") or ""
    if len(body) > _MAX_MESSAGE:
        raise RuleError(f"MessageBody can be at most {_MAX_MESSAGE} characters.")
    return Fixed(int(status), content_type, body)


def _redirect(config: Mapping[str, Any], listener_protocol: str) -> Redirect:
    status = config.get("StatusCode")
    if status not in ("HTTP_301", "HTTP_302"):
        raise RuleError("A redirect action needs RedirectConfig.StatusCode HTTP_301 or HTTP_302.")
    protocol = config.get("Protocol") or "#{protocol}"
    if protocol not in ("HTTP", "HTTPS", "#{protocol}"):
        raise RuleError("Redirect Protocol must be HTTP, HTTPS or #{protocol}.")
    # ELB UG, redirect actions: "You cannot redirect HTTPS to HTTP."
    if protocol == "HTTP" and listener_protocol == "HTTPS":
        raise RuleError("A redirect on an HTTPS listener cannot change the protocol to HTTP.")
    path = config.get("Path") or "/#{path}"
    if not path.startswith("/"):
        raise RuleError("Redirect Path must start with '/'.")
    port, host, query = config.get("Port") or "#{port}", config.get("Host") or "#{host}", config.get("Query")
    redirect = Redirect(protocol, port, host, path, query or "#{query}", int(status[5:]))
    if (redirect.protocol, redirect.port, redirect.host, redirect.path, redirect.query) == _SELF:
        raise RuleError("This redirect would send clients back to the same URL; change at least one component.")
    return redirect


_SELF = ("#{protocol}", "#{port}", "#{host}", "/#{path}", "#{query}")


def redirect_location(redirect: Redirect, scheme: str, host: str, port: int, path: str, query: str) -> str:
    """The Location of a redirect, with the original URL's components put in for the reserved keywords
    (#{path} is the path without its leading '/', #{query} the query without '?'); a port that is the
    scheme's default is left out."""
    words = {"#{protocol}": scheme, "#{host}": host, "#{port}": str(port), "#{path}": path.lstrip("/"),
             "#{query}": query}  # fmt: skip

    def fill(text: str) -> str:
        for word, value in words.items():
            text = text.replace(word, value)
        return text

    new_scheme = fill(redirect.protocol).lower()
    new_port = fill(redirect.port)
    authority = fill(redirect.host)
    if new_port != str(_DEFAULT_PORTS.get(new_scheme)):
        authority = f"{authority}:{new_port}"
    new_query = fill(redirect.query)
    return f"{new_scheme}://{authority}{fill(redirect.path)}" + (f"?{new_query}" if new_query else "")


def forwarded_groups(action: RuleAction) -> tuple[str, ...]:
    return tuple(arn for arn, _ in action.groups) if isinstance(action, Forward) else ()
