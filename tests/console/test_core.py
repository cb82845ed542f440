"""The console's pure pieces: rule match summaries, the live tail's filters, the topology layout."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from latticework.console.picture import (
    Listener,
    Network,
    Picture,
    Rule,
    Service,
    Target,
    TargetGroup,
    Weighted,
    match_summary,
)
from latticework.console.tail import matches
from latticework.console.topology import layout, render_svg


@pytest.mark.parametrize(
    ("match", "summary"),
    [
        (None, "*"),
        ({"httpMatch": {"method": "GET"}}, "GET"),
        ({"httpMatch": {"pathMatch": {"match": {"prefix": "/api"}}}}, "/api*"),
        ({"httpMatch": {"pathMatch": {"match": {"exact": "/health"}}}}, "/health"),
        ({"httpMatch": {"method": "POST", "headerMatches": [{"name": "x-env", "match": {"exact": "beta"}}]}},
         "POST header x-env=beta"),
    ],
)  # fmt: skip
def test_match_summary(match: dict[str, Any] | None, summary: str) -> None:
    assert match_summary(match) == summary


RECORD = {"serviceArn": "arn:aws:vpc-lattice:us-west-2:000000000000:service/svc-0123456789abcdef0",
          "hostHeader": "shop-0123456789abcdef0.7d67968.vpc-lattice-svcs.us-west-2.on.aws",
          "requestPath": "/cart?id=1", "requestMethod": "POST", "responseCode": 503}  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, True),
        ({"status": "5"}, True),
        ({"status": "5XX"}, True),
        ({"status": "503"}, True),
        ({"status": "2xx"}, False),
        ({"method": "post"}, True),
        ({"method": "GET"}, False),
        ({"service": "shop"}, True),
        ({"service": "svc-0123456789abcdef0"}, True),
        ({"service": "other"}, False),
        ({"q": "CART"}, True),
        ({"q": "/checkout"}, False),
    ],
)
def test_tail_filters(query: dict[str, str], expected: bool) -> None:
    assert matches(RECORD, query) is expected


@given(st.dictionaries(st.sampled_from(["service", "status", "method", "q"]), st.just("")))
def test_blank_filters_keep_every_record(query: dict[str, str]) -> None:
    assert matches(RECORD, query)


def small_picture() -> Picture:
    rule = Rule("rule-1", "default", None, "*", "forward", (Weighted("tg-1", 90), Weighted("tg-2", 10)))
    service = Service("svc-1", "arn:svc-1", "shop", "shop.on.aws", None, "NONE", "ACTIVE",
                      (Listener("listener-1", "main", "HTTP", 80, (rule,)),))  # fmt: skip
    groups = (
        TargetGroup("tg-1", "arn:tg-1", "blue", "IP", "vpc-1", 80, (Target("10.0.0.1", 80, "HEALTHY"),)),
        TargetGroup("tg-2", "arn:tg-2", "green", "IP", "vpc-1", 80, (Target("10.0.0.2", 80, "UNHEALTHY"),)),
    )
    network = Network("sn-1", "arn:sn-1", "net", "NONE", (("vpc-1", "ACTIVE"),), (("svc-1", "ACTIVE"),))
    return Picture("000000000000", "us-west-2", (network,), (service,), groups, (("vpc-1", "client <vpc>"),))


def test_topology_connects_every_layer() -> None:
    boxes, edges = layout(small_picture())
    assert [b.kind for b in boxes] == ["vpc", "network", "service", "target-group", "target-group", "target", "target"]
    assert edges == [("vpc-1", "sn-1"), ("sn-1", "svc-1"), ("svc-1", "tg-1"), ("svc-1", "tg-2"),
                     ("tg-1", "tg-1/10.0.0.1:80"), ("tg-2", "tg-2/10.0.0.2:80")]  # fmt: skip


def test_topology_svg_escapes_names_and_colours_health() -> None:
    svg = render_svg(small_picture())
    assert "client &lt;vpc&gt;" in svg and "<vpc>" not in svg
    assert svg.count('<line class="edge"') == 6
    assert 'stroke="#2e7d32"' in svg and 'stroke="#c62828"' in svg  # HEALTHY green, UNHEALTHY red
