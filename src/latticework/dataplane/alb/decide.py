"""The ALB decision core: a request head on one ALB listener in, what to do out (ELB User Guide, "Listener rules
for your Application Load Balancer"): the rules in priority order, the first whose conditions all match (the
default rule last, matching everything) -> its action: forward (weighted target group, group stickiness by the
AWSALBTG cookie, then round robin over healthy targets, every target when none is healthy), fixed-response or
redirect. Also the X-Forwarded-* and X-Amzn-Trace-Id headers as an ALB sets them for its targets.

Pure: the random draw, the round-robin counter, the health view, the time and the request ID are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from email.utils import formatdate
from http.cookies import CookieError, SimpleCookie

from latticework.dataplane.alb.actions import Fixed, Forward, Redirect, redirect_location
from latticework.dataplane.alb.conditions import Request, matches_all
from latticework.dataplane.alb.views import DEFAULT_PRIORITY, AlbListener, AlbRule, AlbSnapshot, AlbView
from latticework.dataplane.routing import choose_target
from latticework.dataplane.snapshot import TargetGroupView, TargetView

__all__ = [
    "STICKY_COOKIE",
    "AlbDecision",
    "AlbFixed",
    "AlbForward",
    "AlbRedirect",
    "AlbRefusal",
    "another_target",
    "decide_alb",
    "forwarded_headers",
    "select_rule",
    "trace_id",
]

# ELB UG "Sticky sessions for your Application Load Balancer": target group stickiness uses the AWSALBTG cookie.
STICKY_COOKIE = "AWSALBTG"
# Set by the ALB for its targets; a client's own copies are replaced (X-Forwarded-For is appended to instead).
_SET_BY_ALB = frozenset({"x-forwarded-proto", "x-forwarded-port", "x-forwarded-for"})

HealthyTargets = Callable[[TargetGroupView], frozenset[str]]


@dataclass(frozen=True, slots=True)
class AlbForward:
    alb: AlbView
    listener: AlbListener
    target_group: TargetGroupView
    target: TargetView
    set_cookie: str | None = None  # a Set-Cookie value for the response (stickiness)
    rule_priority: int = 0  # of the rule that matched; the default rule is 0, as ELB's access log has it


@dataclass(frozen=True, slots=True)
class AlbFixed:
    alb: AlbView
    status: int
    content_type: str
    body: str
    rule_priority: int = 0


@dataclass(frozen=True, slots=True)
class AlbRedirect:
    alb: AlbView
    status: int
    location: str
    rule_priority: int = 0


@dataclass(frozen=True, slots=True)
class AlbRefusal:
    status: int
    message: str
    failure_reason: str | None = None


AlbDecision = AlbForward | AlbFixed | AlbRedirect | AlbRefusal


def select_rule(rules: Sequence[AlbRule], request: Request) -> AlbRule | None:
    """The first rule, in ascending priority, whose conditions all match (the default rule has none)."""
    return next((rule for rule in rules if matches_all(rule.conditions, request)), None)


def decide_alb(
    albs: AlbSnapshot,
    alb: AlbView,
    port: int,
    scheme: str,
    request: Request,
    healthy: HealthyTargets,
    draw: float,
    counter: Callable[[str], int],
    now: float,
) -> AlbDecision:
    """What the listener on `port` of `alb` does with a request that arrived over `scheme`."""
    listener = alb.listeners.get(port)
    if listener is None or (listener.protocol == "HTTPS") != (scheme == "https"):
        return AlbRefusal(503, "No listener on this port", "NoListener")
    rule = select_rule(listener.rules, request)
    if rule is None:  # only if the default rule is missing (it never is after CreateListener)
        return AlbRefusal(503, "No rule matched", "NoRule")
    action = rule.action
    priority = 0 if rule.priority == DEFAULT_PRIORITY else rule.priority
    if isinstance(action, Fixed):
        return AlbFixed(alb, action.status, action.content_type, action.body, priority)
    if isinstance(action, Redirect):
        location = redirect_location(action, scheme, request.host, port, request.path, request.query)
        return AlbRedirect(alb, action.status, location, priority)
    return _forward(albs, alb, listener, action, request, healthy, draw, counter, now, priority)


def _forward(
    albs: AlbSnapshot,
    alb: AlbView,
    listener: AlbListener,
    forward: Forward,
    request: Request,
    healthy: HealthyTargets,
    draw: float,
    counter: Callable[[str], int],
    now: float,
    priority: int,
) -> AlbDecision:
    group_arn = _sticky_group(forward, request.headers.get("cookie", "")) or _weighted(forward, draw)
    group = albs.target_groups.get(group_arn or "")
    if group is None:
        return AlbRefusal(503, "No target group to forward to", "TargetGroupNotFound")
    serving = [t for t in group.targets if t.status != "DRAINING"]
    key = choose_target([t.key for t in serving], healthy(group), counter(group.arn))
    if key is None:
        # ELB UG "Troubleshoot": HTTP 503 "the target groups for the load balancer have no registered targets".
        return AlbRefusal(503, "Service Temporarily Unavailable", "NoRegisteredTargets")
    target = next(t for t in serving if t.key == key)
    cookie = _sticky_cookie(group.arn, forward.stickiness_seconds, now) if forward.stickiness_seconds else None
    return AlbForward(alb, listener, group, target, cookie, priority)


def another_target(forward: AlbForward, healthy: HealthyTargets, counter: int) -> AlbForward | None:
    """The same forward to a different target of its group, for a request whose target refused the connection.

    Ours, not ELBv2's: a task that died (kill -9) refuses connections here at once, where on AWS its address stops
    answering; until the next health check would catch it, requests that never reached it try another target
    (nothing was sent, so no request runs twice). None when the group has no other target."""
    group, failed = forward.target_group, forward.target.key
    serving = [t for t in group.targets if t.status != "DRAINING" and t.key != failed]
    key = choose_target([t.key for t in serving], healthy(group), counter)
    if key is None:
        return None
    target = next(t for t in serving if t.key == key)
    return replace(forward, target=target)


def _weighted(forward: Forward, draw: float) -> str | None:
    total = sum(weight for _, weight in forward.groups)
    if total == 0:
        return None
    point = draw * total
    for arn, weight in forward.groups:
        if point < weight:
            return arn
        point -= weight
    return next(arn for arn, weight in reversed(forward.groups) if weight)


def _sticky_group(forward: Forward, cookie_header: str) -> str | None:
    """The group the AWSALBTG cookie names, if stickiness is on and it is still one of the action's groups."""
    if not forward.stickiness_seconds or STICKY_COOKIE not in cookie_header:
        return None
    try:
        morsel = SimpleCookie(cookie_header).get(STICKY_COOKIE)
    except CookieError:
        return None
    wanted = morsel.value if morsel is not None else ""
    return next((arn for arn, weight in forward.groups if weight and arn.rsplit("/", 1)[-1] == wanted), None)


def _sticky_cookie(group_arn: str, seconds: int, now: float) -> str:
    expires = formatdate(now + seconds, usegmt=True)
    return f"{STICKY_COOKIE}={group_arn.rsplit('/', 1)[-1]}; Expires={expires}; Path=/"


def forwarded_headers(
    headers: Sequence[tuple[str, str]], client_ip: str, scheme: str, port: int, request_id: str, now: float
) -> list[tuple[str, str]]:
    """The request headers an ALB target receives (ELB UG "HTTP headers and Application Load Balancers"):
    X-Forwarded-For with the client's address appended to any the request carried ("append", the default
    processing mode), X-Forwarded-Proto and -Port of the listener, and X-Amzn-Trace-Id (kept when the client
    sent one, else `Root=1-<epoch hex>-<24 hex>`)."""
    kept = [(n, v) for n, v in headers if n not in _SET_BY_ALB]
    prior = [v for n, v in headers if n == "x-forwarded-for"]
    chain = ", ".join([*prior, client_ip])
    out = [*kept, ("x-forwarded-for", chain), ("x-forwarded-proto", scheme), ("x-forwarded-port", str(port))]
    if not any(n == "x-amzn-trace-id" for n, _ in headers):
        out.append(("x-amzn-trace-id", trace_id(headers, request_id, now)))
    return out


def trace_id(headers: Sequence[tuple[str, str]], request_id: str, now: float) -> str:
    """The request's X-Amzn-Trace-Id: the client's, else the one the ALB makes, `Root=1-<epoch hex>-<24 hex>`."""
    sent = next((v for n, v in headers if n == "x-amzn-trace-id"), None)
    return sent if sent is not None else f"Root=1-{int(now):08x}-{request_id.replace('-', '')[:24]:0>24}"
