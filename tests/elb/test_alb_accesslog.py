"""The ALB access log's pure half: a line for an HTTPS forward whose target failed, and the S3 key for prefixes
(none, nested, one needing escape). The end-to-end test over a real ALB is tests/dataplane/test_alb_traffic.py."""

from __future__ import annotations

import shlex
from types import MappingProxyType
from typing import Any

import pytest

from latticework.dataplane.alb.accesslog import AlbHop, alb_log_line, alb_log_path
from latticework.dataplane.alb.decide import AlbForward, AlbRefusal
from latticework.dataplane.alb.views import AccessLogBucket, AlbListener, AlbView
from latticework.dataplane.forwarding import Trace
from latticework.dataplane.snapshot import TargetGroupView, TargetView

ARN = "arn:aws:elasticloadbalancing:us-west-2:111122223333:loadbalancer/app/shop/50dc6c495c0c9188"
CERT = "arn:aws:acm:us-west-2:111122223333:certificate/abc"
WHEN = 1_764_900_123.25  # 2025-12-05T02:02:03.25Z, in the 02:00-02:05 window


def view(prefix: str = "") -> AlbView:
    listener = AlbListener("listener", 443, "HTTPS", CERT, ())
    return AlbView(ARN, "shop", "shop-1.elb", "internet-facing", None, "111122223333", "us-west-2",
                   MappingProxyType({443: listener}), AccessLogBucket("logs", prefix))  # fmt: skip


def trace(**changes: Any) -> Trace:
    """The relay's own trace of an HTTPS POST whose target refused the connection."""
    made = Trace(start=WHEN, vpc=None, source=("203.0.113.9", 50123), method="POST", target="/checkout",
                 host="shop.example.com", user_agent='curl "8"', scheme="https", status=502, bytes_received=12,
                 bytes_sent=140, failure_reason="TargetConnectionError", target_address="10.0.0.7:8080",
                 sent_to_target=WHEN + 0.002, end=WHEN + 0.5, sni="shop.example.com", tls_version="TLSv1.3",
                 tls_cipher="TLS_AES_256_GCM_SHA384")  # fmt: skip
    for name, value in changes.items():
        setattr(made, name, value)
    return made


def test_an_https_forward_whose_target_failed() -> None:
    group = TargetGroupView("tg", "tg-arn", "IP", "HTTP", "HTTP1", 8080, {}, "V1", ())
    decision = AlbForward(view(), view().listeners[443], group, TargetView("10.0.0.7", 8080, "HEALTHY"), None, 7)
    hop = AlbHop(view(), "https", 443, ("203.0.113.9", 50123), "Root=1-abc", decision)
    fields = shlex.split(alb_log_line(hop, trace()).decode())
    assert len(fields) == 30
    assert fields[:12] == ["https", "2025-12-05T02:02:03.750000Z", "app/shop/50dc6c495c0c9188", "203.0.113.9:50123",
                           "10.0.0.7:8080", "0.002", "-1", "-1", "502", "-", "12", "140"]  # fmt: skip
    assert fields[12:17] == ["POST https://shop.example.com:443/checkout HTTP/1.1", 'curl "8"',
                             "TLS_AES_256_GCM_SHA384", "TLSv1.3", "tg-arn"]  # fmt: skip
    assert fields[17:24] == ["Root=1-abc", "shop.example.com", CERT, "7", "2025-12-05T02:02:03.250000Z", "forward",
                             "-"]  # fmt: skip
    assert fields[25:27] == ["10.0.0.7:8080", "-"]


def test_a_refusal_has_no_rule_and_no_action() -> None:
    hop = AlbHop(view(), "https", 443, ("203.0.113.9", 1), "Root=1-abc", AlbRefusal(503, "No rule matched"))
    fields = shlex.split(alb_log_line(hop, trace(target_address=None, sent_to_target=None)).decode())
    assert (fields[4], fields[5], fields[20], fields[22]) == ("-", "-1", "-", "-")


@pytest.mark.parametrize(
    ("prefix", "folders"),
    [("", ["logs"]), ("team/web", ["logs", "team", "web"]), ("../x", ["logs", "%2E%2E", "x"])],
)
def test_the_object_key_per_five_minute_window(prefix: str, folders: list[str]) -> None:
    path = alb_log_path(view(prefix), WHEN)
    assert path.parts[:-8] == ("s3", *folders)
    assert path.parts[-8:-1] == ("AWSLogs", "111122223333", "elasticloadbalancing", "us-west-2", "2025", "12", "05")
    assert path.name.startswith("111122223333_elasticloadbalancing_us-west-2_app.shop.50dc6c495c0c9188_20251205T0205Z_"
                                "127.0.0.1_")  # fmt: skip
    assert alb_log_path(view(prefix), WHEN + 60) == path and alb_log_path(view(prefix), WHEN + 300) != path
