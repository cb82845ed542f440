"""heads: the heads written from remembered pieces are byte for byte the heads the field rules give
(`decide.upstream_headers` + http1's writer), whatever was remembered before; nothing a caller sends can split
them."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latticework.auth.principals import Principal
from latticework.dataplane import heads, http1
from latticework.dataplane.access import OPEN, Access
from latticework.dataplane.decide import Forwarding, RequestHead, upstream_headers
from latticework.dataplane.snapshot import ListenerView, ServiceView, TargetGroupView, TargetView, VpcView

ACCOUNT, REGION = "111122223333", "us-west-2"
NETWORK = f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:servicenetwork/sn-0123456789abcdef0"
SERVICE = ServiceView(
    "svc-0123456789abcdef0",
    f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:service/svc-0123456789abcdef0",
    "orders",
    ACCOUNT,
    REGION,
    "orders-0123456789abcdef0.7d67968.vpc-lattice-svcs.us-west-2.on.aws",
    None,
    None,
    "NONE",
    60,
    MappingProxyType({}),
    frozenset({NETWORK}),
)
LISTENER = ListenerView("listener-0123456789abcdef0", "arn:listener", "HTTP", 80, ())
GROUPS = [
    TargetGroupView(
        f"tg-{n}", f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:targetgroup/tg-{n}", "IP", "HTTP", "HTTP1", 80, {}, "V2", ()
    )
    for n in ("a", "b")
]
VPCS = [VpcView(f"vpc-{n}", f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-{n}", ACCOUNT, NETWORK) for n in ("1", "2")]
PRINCIPAL = Principal(f"arn:aws:iam::{ACCOUNT}:role/caller", ACCOUNT, "Role", "o-abc", MappingProxyType({"t": "a"}))
ACCESSES = [OPEN, Access(True, True, PRINCIPAL)]

_NAMES = st.sampled_from(
    [
        "accept",
        "user-agent",
        "x-custom",
        "connection",
        "keep-alive",
        "te",
        "upgrade",
        "x-forwarded-for",
        "x-amzn-requestid",
        "x-amzn-lattice-identity",
        "x-amzn-source-vpc",
        "cookie",
        "proxy-authorization",
    ]
)
_VALUES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=12)
_FIELDS = st.lists(st.tuples(_NAMES, _VALUES.map(lambda v: v.strip(" \t"))), max_size=6)


def _reference_request(
    started: http1.RequestStarted, head: RequestHead, forwarding: Forwarding, vpc: VpcView, ip: str, request_id: str
) -> bytes:
    """What the relay wrote before heads.py: upstream_headers minus hop-by-hop, then the framing field."""
    fields = [(n, v) for n, v in upstream_headers(head, forwarding, vpc, ip, request_id) if n not in heads.HOP_BY_HOP]
    if started.framing is http1.Framing.CHUNKED:
        fields.append(("transfer-encoding", "chunked"))
    elif started.content_length is not None:
        fields.append(("content-length", str(started.content_length)))
    return http1.encode_request_head(started.method, head.path, fields)


def _started(fields: list[tuple[str, str]], framing: str) -> http1.RequestStarted:
    lines = [f"{name}: {value}" for name, value in fields]
    if framing == "length":
        lines.append("Content-Length: 5")
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
    data = "POST /orders?id=7 HTTP/1.1\r\nHost: orders.example.com\r\n" + "".join(f"{x}\r\n" for x in lines) + "\r\n"
    events = http1.RequestReader().feed(data.encode("latin-1"))
    assert type(events[0]) is http1.RequestStarted, events
    return events[0]


@settings(max_examples=300, deadline=None)
@given(
    _FIELDS,
    st.sampled_from(["none", "length", "chunked"]),
    st.integers(0, 1),
    st.integers(0, 1),
    st.integers(0, 1),
    st.sampled_from([(80, "http"), (443, "https")]),
)
def test_the_target_gets_the_head_the_field_rules_give(
    fields: list[tuple[str, str]], framing: str, group: int, vpc: int, access: int, listener: tuple[int, str]
) -> None:
    """Any caller fields, framing, route and identity, in any order of calls (pieces of earlier examples stay
    remembered): the same bytes as the reference, and the body re-chunked exactly when it came chunked."""
    started = _started(fields, framing)
    port, scheme = listener
    head = RequestHead(
        "POST", "/orders?id=7", "orders.example.com", port, scheme, started.header_map, "", started.headers
    )
    forwarding = Forwarding(
        SERVICE, LISTENER, GROUPS[group], TargetView("10.0.0.1", 80, "HEALTHY"), NETWORK, ACCESSES[access]
    )
    written, chunked = heads.target_request_head(
        started, "/orders?id=7", head, forwarding, VPCS[vpc], "10.0.0.9", "rid-1"
    )
    assert written == _reference_request(started, head, forwarding, VPCS[vpc], "10.0.0.9", "rid-1")
    assert chunked == (framing == "chunked")


def _reference_response(
    started: http1.ResponseStarted, request_id: str, extra: tuple[tuple[str, str], ...], keep_alive: bool
) -> bytes:
    fields = [(n, v) for n, v in started.headers if n not in heads.HOP_BY_HOP and n != "x-amzn-requestid"]
    if started.content_length is not None:
        fields.append(("content-length", str(started.content_length)))
    elif started.framing is not http1.Framing.NONE:
        fields.append(("transfer-encoding", "chunked"))
    fields += [("x-amzn-requestid", request_id), *extra]
    if not keep_alive:
        fields.append(("connection", "close"))
    return http1.encode_response_head(started.status, started.reason or "OK", fields)


@settings(max_examples=300, deadline=None)
@given(
    _FIELDS,
    st.sampled_from(["Content-Length: 2", "Transfer-Encoding: chunked", None]),
    st.sampled_from([(200, "OK"), (200, ""), (404, "Not Found"), (204, "No Content")]),
    st.booleans(),
    st.booleans(),
)
def test_the_client_gets_the_head_the_field_rules_give(
    fields: list[tuple[str, str]], framing: str | None, status: tuple[int, str], keep_alive: bool, sticky: bool
) -> None:
    code, reason = status
    lines = [
        f"HTTP/1.1 {code} {reason}".rstrip(" ") if reason else f"HTTP/1.1 {code} ",
        *(f"{n}: {v}" for n, v in fields if n not in ("transfer-encoding", "content-length")),
        *([framing] if framing else []),
    ]
    events = http1.ResponseReader("GET").feed(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    started = events[0]
    if type(started) is not http1.ResponseStarted:
        return  # a response the reader refuses never gets a head written
    extra = (("set-cookie", "AWSALB=abc"),) if sticky else ()
    written, chunked = heads.client_response_head(started, "rid-2", extra, keep_alive)
    expected = _reference_response(started, "rid-2", extra, keep_alive)
    if not reason:  # the reason phrase the target left out is the status's own
        expected = expected.replace(
            b" OK\r\n", b" " + {200: b"OK", 204: b"No Content", 404: b"Not Found"}[code] + b"\r\n", 1
        )
    assert written == expected
    assert chunked == (started.framing not in (http1.Framing.NONE, http1.Framing.LENGTH))


def test_a_value_from_config_that_would_split_the_head_is_refused() -> None:
    """Caller fields cannot carry CR or LF (the reader refuses them); what comes from elsewhere is checked."""
    started = _started([], "none")
    head = RequestHead("POST", "/", "orders.example.com", 80, "http", started.header_map, "", started.headers)
    bad = VpcView("vpc-x\r\nx-injected: 1", "arn:aws:ec2:us-west-2:1:vpc/vpc-x", ACCOUNT, NETWORK)
    forwarding = Forwarding(SERVICE, LISTENER, GROUPS[0], TargetView("10.0.0.1", 80, "HEALTHY"), NETWORK, OPEN)
    with pytest.raises(ValueError, match="CR or LF"):
        heads.target_request_head(started, "/", head, forwarding, bad, "10.0.0.9", "rid")
    answer = http1.ResponseReader("GET").feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")[0]
    assert type(answer) is http1.ResponseStarted
    with pytest.raises(ValueError, match="CR or LF"):
        heads.client_response_head(answer, "rid", (("set-cookie", "a\nb"),), True)
