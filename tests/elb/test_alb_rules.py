"""The pure ALB core: condition matching tables, actions, redirects, rule selection, forwarding headers."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from latticework.dataplane.alb.actions import Redirect, compile_actions, redirect_location
from latticework.dataplane.alb.conditions import Request, RuleError, compile_conditions, matches_all, wildcard
from latticework.dataplane.alb.decide import (
    AlbFixed,
    AlbForward,
    AlbRedirect,
    AlbRefusal,
    decide_alb,
    forwarded_headers,
)
from latticework.dataplane.alb.views import DEFAULT_PRIORITY, AlbListener, AlbRule, AlbSnapshot, AlbView
from latticework.dataplane.snapshot import TargetGroupView, TargetView


def request(path: str = "/", host: str = "shop.example", method: str = "GET", query: str = "",
            headers: dict[str, str] | None = None, source_ip: str = "10.0.0.5") -> Request:  # fmt: skip
    return Request(method, path, query, host, headers or {}, source_ip)


@pytest.mark.parametrize(
    ("condition", "req", "expected"),
    [
        ({"Field": "path-pattern", "Values": ["/api/*"]}, request("/api/orders"), True),
        ({"Field": "path-pattern", "Values": ["/api/*"]}, request("/API/orders"), False),  # case-sensitive
        ({"Field": "path-pattern", "Values": ["/img/?.png"]}, request("/img/a.png"), True),
        ({"Field": "path-pattern", "Values": ["/img/?.png"]}, request("/img/ab.png"), False),
        ({"Field": "path-pattern", "Values": ["/x"]}, request("/x", query="a=1"), True),  # never the query
        ({"Field": "path-pattern", "PathPatternConfig": {"Values": ["/a", "/b*"]}}, request("/bee"), True),
        ({"Field": "host-header", "Values": ["*.Example"]}, request(host="shop.example"), True),
        ({"Field": "host-header", "Values": ["?.example"]}, request(host="shop.example"), False),
        (
            {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "User-Agent", "Values": ["*Mobile*"]}},
            request(headers={"user-agent": "X mobile Y"}),
            True,
        ),
        (
            {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["beta"]}},
            request(),
            False,
        ),
        (
            {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST", "PUT"]}},
            request(method="PUT"),
            True,
        ),
        (
            {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST"]}},
            request(method="post"),
            False,
        ),
        (
            {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "version", "Value": "v1*"}]}},
            request(query="version=V1.2&x=1"),
            True,
        ),
        (
            {"Field": "query-string", "QueryStringConfig": {"Values": [{"Value": "blue"}]}},
            request(query="color=blue"),
            True,
        ),
        (
            {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "a", "Value": "b c"}]}},
            request(query="a=b%20c"),
            True,
        ),
        (
            {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "a", "Value": "1"}]}},
            request(query="b=1"),
            False,
        ),
        ({"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/16"]}}, request(source_ip="10.0.9.9"), True),
        ({"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/16"]}}, request(source_ip="10.1.0.1"), False),
        ({"Field": "source-ip", "SourceIpConfig": {"Values": ["::1/128"]}}, request(source_ip="::1"), True),
    ],
)
def test_condition_matches(condition: dict[str, Any], req: Request, expected: bool) -> None:
    assert matches_all(compile_conditions([condition]), req) is expected


def test_conditions_of_a_rule_are_anded() -> None:
    conditions = compile_conditions(
        [{"Field": "path-pattern", "Values": ["/api/*"]}, {"Field": "host-header", "Values": ["api.example"]}]
    )
    assert matches_all(conditions, request("/api/x", host="api.example"))
    assert not matches_all(conditions, request("/api/x", host="www.example"))


@pytest.mark.parametrize(
    "conditions",
    [
        [],
        [{"Field": "path-pattern", "Values": ["/a"]}, {"Field": "path-pattern", "Values": ["/b"]}],
        [{"Field": "path-pattern", "Values": ["/1", "/2", "/3"]}, {"Field": "host-header", "Values": ["a", "b", "c"]}],
        [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.1"]}}],
        [{"Field": "http-request-method", "Values": ["GET"]}],
        [{"Field": "http-header", "HttpHeaderConfig": {"Values": ["x"]}}],
        [{"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "k"}]}}],
        [{"Field": "path-pattern", "RegexValues": ["^/a$"]}],
    ],
)
def test_conditions_elbv2_refuses(conditions: list[dict[str, Any]]) -> None:
    with pytest.raises(RuleError):
        compile_conditions(conditions)


@given(st.text(alphabet="abc/.-", max_size=20))
def test_a_pattern_without_wildcards_matches_only_itself(text: str) -> None:
    assert wildcard(text, True).fullmatch(text)
    assert not wildcard(text, True).fullmatch(text + "x")


@given(st.text(alphabet="abc/", max_size=12), st.text(alphabet="abc/", max_size=12))
def test_star_matches_any_suffix(prefix: str, rest: str) -> None:
    assert wildcard(prefix + "*", True).fullmatch(prefix + rest)


@pytest.mark.parametrize(
    ("config", "scheme", "expected"),
    [
        ({"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}, "http", "https://shop.example/a/b?x=1"),
        (
            {"Host": "new.example", "Path": "/v2/#{path}", "StatusCode": "HTTP_302"},
            "http",
            "http://new.example:8080/v2/a/b?x=1",
        ),
        (
            {"Query": "from=#{host}", "Path": "/#{path}", "Port": "80", "StatusCode": "HTTP_301"},
            "http",
            "http://shop.example/a/b?from=shop.example",
        ),
    ],
)
def test_redirect_location_fills_reserved_keywords(config: dict[str, str], scheme: str, expected: str) -> None:
    redirect = compile_actions([{"Type": "redirect", "RedirectConfig": config}], "HTTP")
    assert isinstance(redirect, Redirect)
    assert redirect_location(redirect, scheme, "shop.example", 8080, "/a/b", "x=1") == expected


def test_https_listener_cannot_redirect_to_http() -> None:
    with pytest.raises(RuleError):
        compile_actions([{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTP", "StatusCode": "HTTP_301"}}],
                        "HTTPS")  # fmt: skip


TG_A = "arn:aws:elasticloadbalancing:us-west-2:000000000000:targetgroup/a/aaaaaaaaaaaaaaaa"
TG_B = "arn:aws:elasticloadbalancing:us-west-2:000000000000:targetgroup/b/bbbbbbbbbbbbbbbb"


def group(arn: str, *targets: tuple[str, str]) -> TargetGroupView:
    views = tuple(TargetView(ip, 80, status) for ip, status in targets)
    return TargetGroupView(arn, arn, "IP", "HTTP", "HTTP1", 80, MappingProxyType({}), "V1", views)


def alb(rules: list[tuple[int, list[dict[str, Any]], list[dict[str, Any]]]]) -> tuple[AlbSnapshot, AlbView]:
    compiled = tuple(
        AlbRule(f"rule{p}", p, compile_conditions(c) if p != DEFAULT_PRIORITY else (), compile_actions(a, "HTTP"))
        for p, c, a in sorted(rules, key=lambda r: r[0])
    )
    listener = AlbListener("listener", 80, "HTTP", None, compiled)
    view = AlbView("lb", "web", "web-1.us-west-2.elb.amazonaws.com", "internet-facing", None, "0", "us-west-2",
                   MappingProxyType({80: listener}))  # fmt: skip
    groups = {TG_A: group(TG_A, ("10.0.0.1", "HEALTHY"), ("10.0.0.2", "UNHEALTHY")), TG_B: group(TG_B)}
    return AlbSnapshot(1, MappingProxyType({"lb": view}), MappingProxyType({}), MappingProxyType(groups)), view


def healthy(view: TargetGroupView) -> frozenset[str]:
    return frozenset(t.key for t in view.targets if t.status == "HEALTHY")


FIXED_404 = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "MessageBody": "nope"}}]


def test_rules_run_in_priority_order_then_default() -> None:
    albs, view = alb([
        (DEFAULT_PRIORITY, [], FIXED_404),
        (20, [{"Field": "path-pattern", "Values": ["/*"]}], [{"Type": "forward", "TargetGroupArn": TG_A}]),
        (10, [{"Field": "path-pattern", "Values": ["/old/*"]}],
         [{"Type": "redirect", "RedirectConfig": {"Path": "/new/#{path}", "StatusCode": "HTTP_301"}}]),
    ])  # fmt: skip

    def run(path: str, method: str = "GET") -> Any:
        return decide_alb(albs, view, 80, "http", request(path, method=method), healthy, 0.5, lambda g: 0, 0.0)

    moved = run("/old/x")
    assert isinstance(moved, AlbRedirect) and moved.location == "http://shop.example/new/old/x"
    forwarded = run("/cart")
    # Round robin over the healthy target only.
    assert isinstance(forwarded, AlbForward) and forwarded.target.id == "10.0.0.1"
    assert isinstance(decide_alb(albs, view, 81, "http", request(), healthy, 0.5, lambda g: 0, 0.0), AlbRefusal)


def test_default_rule_answers_when_nothing_matches() -> None:
    albs, view = alb([(DEFAULT_PRIORITY, [], FIXED_404), (1, [{"Field": "host-header", "Values": ["x"]}], FIXED_404)])
    decision = decide_alb(albs, view, 80, "http", request(), healthy, 0.5, lambda g: 0, 0.0)
    assert isinstance(decision, AlbFixed) and (decision.status, decision.body) == (404, "nope")


@pytest.mark.parametrize(("draw", "expected"), [(0.0, TG_A), (0.24, TG_A), (0.26, TG_B), (0.99, TG_B)])
def test_weighted_forward(draw: float, expected: str) -> None:
    forward = {"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": TG_A, "Weight": 1}, {"TargetGroupArn": TG_B, "Weight": 3}]}}  # fmt: skip
    albs, view = alb([(DEFAULT_PRIORITY, [], [forward])])
    decision = decide_alb(albs, view, 80, "http", request(), healthy, draw, lambda g: 0, 0.0)
    if expected == TG_B:  # no targets in B: ELBv2 answers 503
        assert isinstance(decision, AlbRefusal) and decision.status == 503
    else:
        assert isinstance(decision, AlbForward) and decision.target_group.arn == expected


def test_group_stickiness_follows_the_cookie() -> None:
    forward = {"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": TG_A, "Weight": 1}, {"TargetGroupArn": TG_B, "Weight": 1}],
        "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 60}}}  # fmt: skip
    albs, view = alb([(DEFAULT_PRIORITY, [], [forward])])
    sticky = request(headers={"cookie": "a=b; AWSALBTG=aaaaaaaaaaaaaaaa"})
    decision = decide_alb(albs, view, 80, "http", sticky, healthy, 0.99, lambda g: 0, 0.0)
    assert isinstance(decision, AlbForward) and decision.target_group.arn == TG_A
    assert decision.set_cookie is not None and decision.set_cookie.startswith("AWSALBTG=aaaaaaaaaaaaaaaa; Expires=")


def test_forwarded_headers_append_the_client() -> None:
    headers = forwarded_headers(
        [("host", "x"), ("x-forwarded-for", "1.2.3.4"), ("x-forwarded-proto", "evil")], "10.0.0.9", "https", 443,
        "0123456789abcdef0123456789abcdef", 1700000000.0,
    )  # fmt: skip
    found = dict(headers)
    assert found["x-forwarded-for"] == "1.2.3.4, 10.0.0.9"
    assert (found["x-forwarded-proto"], found["x-forwarded-port"]) == ("https", "443")
    assert found["x-amzn-trace-id"] == "Root=1-6553f100-0123456789abcdef01234567"
    assert [n for n, _ in headers].count("x-forwarded-proto") == 1
