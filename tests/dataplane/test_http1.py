"""Tables and properties for the sans-IO HTTP/1.1 readers and writers (latticework.dataplane.http1).

Malformed requests each get the status they must get, with nothing of the request emitted before the
Rejected; valid requests give exact events; any split of a byte stream into feeds gives the same events;
random and mutated bytes never raise; responses are framed per RFC 9112 6.3; heads written by the encoders
read back the same.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latticework.dataplane import http1, http1_grammar
from latticework.dataplane.http1 import (
    END_CHUNK,
    BodyData,
    Event,
    Framing,
    InterimResponse,
    MessageEnded,
    Rejected,
    RequestReader,
    RequestStarted,
    ResponseReader,
    ResponseStarted,
    encode_chunk,
    encode_last_chunk,
    encode_request_head,
    encode_response_head,
)

LIMIT = 60 * 1024


def head(*lines: str | bytes) -> bytes:
    """The lines joined with CRLF, ending with the blank line."""
    return b"".join((line.encode("latin-1") if isinstance(line, str) else line) + b"\r\n" for line in lines) + b"\r\n"


def get(*fields: str | bytes, line: str | bytes = "GET / HTTP/1.1") -> bytes:
    return head(line, *fields)


def chunked(*body: str | bytes) -> bytes:
    return head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked") + b"".join(
        part.encode("latin-1") if isinstance(part, str) else part for part in body
    )


def typed(events: Iterable[Event]) -> list[tuple[str, Event]]:
    """Events with their type names: NamedTuples of different types can compare equal as plain tuples."""
    return [(type(event).__name__, event) for event in events]


def coalesced(events: Iterable[Event]) -> list[tuple[str, Event]]:
    """Consecutive BodyData joined: how a body is cut into BodyData depends on how the bytes arrived."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, BodyData) and out and isinstance(out[-1], BodyData):
            out[-1] = BodyData(out[-1].data + event.data)
        else:
            out.append(event)
    return typed(out)


def feed_pieces(reader: RequestReader | ResponseReader, data: bytes, cuts: Sequence[int]) -> list[Event]:
    events: list[Event] = []
    bounds = [0, *sorted(cuts), len(data)]
    for start, stop in itertools.pairwise(bounds):
        events += reader.feed(data[start:stop])
    return events


def started(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    framing: Framing = Framing.NONE,
    length: int | None = None,
    keep_alive: bool = True,
    version: str = "HTTP/1.1",
    header_map: dict[str, str] | None = None,
) -> RequestStarted:
    fields = tuple(headers)
    mapping = dict(fields) if header_map is None else header_map
    return RequestStarted(method, target, version, fields, mapping, framing, length, keep_alive)


END = MessageEnded()


def only_rejection(events: list[Event]) -> int:
    """The status of the one Rejected that `events` must consist of."""
    assert len(events) == 1 and isinstance(events[0], Rejected), events
    return events[0].status


def values(params: Iterable[Any]) -> list[tuple[Any, ...]]:
    """The argument tuples of a table of pytest.param entries."""
    return [tuple(param.values) for param in params]


# --- malformed requests: the head is refused before any event of the request ------------------------------------

MALFORMED_HEADS = [
    # size and count limits (Lattice access-log troubleshooting: 60 KB, 100 headers -> 400)
    pytest.param(get("Host: a", "X: " + "a" * LIMIT), 400, id="head-over-60KB"),
    pytest.param(head(f"GET /{'a' * LIMIT} HTTP/1.1", "Host: a"), 400, id="request-line-counts-toward-limit"),
    pytest.param(get("Host: a", *["X: 1"] * 100), 400, id="101-header-fields"),
    # Content-Length / Transfer-Encoding (RFC 9112 6.1, 6.3)
    pytest.param(
        head("POST / HTTP/1.1", "Host: a", "Content-Length: 3", "Transfer-Encoding: chunked"), 400, id="cl-te"
    ),
    pytest.param(
        head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Content-Length: 3"), 400, id="te-cl"
    ),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Content-Length: 3", "Content-Length: 3"), 400, id="dup-cl-equal"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Content-Length: 3", "Content-Length: 4"), 400, id="dup-cl-differ"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Content-Length: 3, 3"), 400, id="cl-list"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Content-Length: +3"), 400, id="cl-plus"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Content-Length: -3"), 400, id="cl-minus"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Content-Length: 3.0"), 400, id="cl-decimal"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Content-Length: 0x10"), 400, id="cl-hex"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Content-Length:"), 400, id="cl-empty"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", b"Content-Length: \xb3"), 400, id="cl-superscript-digit"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Content-Length: 9223372036854775808"), 400, id="cl-2-63"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Content-Length: " + "9" * 40), 400, id="cl-40-digits"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip"), 400, id="te-gzip-only"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, gzip"), 400, id="te-chunked-not-last"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, chunked"), 400, id="te-chunked-twice"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip, chunked"), 501, id="te-gzip-chunked"),
    pytest.param(
        head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: deflate", "Transfer-Encoding: chunked"),
        501,
        id="te-repeated-lines-unknown-coding",
    ),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked;x=1"), 400, id="te-chunked-params"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding:"), 400, id="te-empty"),
    pytest.param(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chu nked"), 400, id="te-not-a-token"),
    pytest.param(head("POST / HTTP/1.0", "Transfer-Encoding: chunked"), 400, id="te-in-http-1.0"),
    # field syntax (RFC 9112 5.1, 5.2; RFC 9110 5.5, 5.6.2)
    pytest.param(get("Host: a", "X: 1", " continued"), 400, id="obs-fold-space"),
    pytest.param(get("Host: a", "X: 1", "\tcontinued"), 400, id="obs-fold-tab"),
    pytest.param(b"GET / HTTP/1.1\nHost: a\n\n", 400, id="bare-lf-everywhere"),
    pytest.param(b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400, id="bare-lf-request-line"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400, id="bare-lf-field"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\n\n", 400, id="bare-lf-blank-line"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, id="bare-cr-field"),
    pytest.param(b"GET / HTTP/1.1\rHost: a\r\n\r\n", 400, id="bare-cr-request-line"),
    pytest.param(get("Host: a", b"X: a\x00b"), 400, id="nul-in-value"),
    pytest.param(get("Host: a", b"X: a\x01b"), 400, id="ctl-in-value"),
    pytest.param(get("Host: a", b"X: a\x1fb"), 400, id="us-in-value"),
    pytest.param(get("Host: a", b"X: a\x7fb"), 400, id="del-in-value"),
    pytest.param(get("Host: a", b"X\x00: b"), 400, id="nul-in-name"),
    pytest.param(get("Host: a", "X(y): b"), 400, id="name-paren"),
    pytest.param(get("Host: a", 'X"y: b'), 400, id="name-quote"),
    pytest.param(get("Host: a", "X y: b"), 400, id="name-space"),
    pytest.param(get("Host: a", b"X\xe9: b"), 400, id="name-non-ascii"),
    pytest.param(get("Host: a", ": b"), 400, id="name-empty"),
    pytest.param(get("Host: a", "no colon"), 400, id="line-without-colon"),
    pytest.param(get("Host : a"), 400, id="space-before-colon"),
    pytest.param(get("Host: a", "X\t: b"), 400, id="tab-before-colon"),
    # methods and request line (RFC 9112 3)
    pytest.param(get("Host: a", line="G(T / HTTP/1.1"), 400, id="method-not-token"),
    pytest.param(get("Host: a", line="G@T / HTTP/1.1"), 400, id="method-at"),
    pytest.param(get("Host: a", line=" / HTTP/1.1"), 400, id="method-empty"),
    pytest.param(get("Host: a", line="GET  / HTTP/1.1"), 400, id="two-spaces"),
    pytest.param(get("Host: a", line="GET\t/ HTTP/1.1"), 400, id="tab-separator"),
    pytest.param(get("Host: a", line="GET / HTTP/1.1 "), 400, id="trailing-space"),
    pytest.param(get("Host: a", line="GET /"), 400, id="no-version"),
    pytest.param(get("Host: a", line=b"GET /\x00 HTTP/1.1"), 400, id="nul-in-target"),
    # request targets (RFC 9112 3.2; RFC 9110 4.2)
    pytest.param(get("Host: a", line="GET /a b HTTP/1.1"), 400, id="target-space"),
    pytest.param(get("Host: a", line=b"GET /\xc3\xa9 HTTP/1.1"), 400, id="target-non-ascii"),
    pytest.param(get("Host: a", line=b"GET /\x7f HTTP/1.1"), 400, id="target-del"),
    pytest.param(get("Host: a", line="GET abc HTTP/1.1"), 400, id="target-relative"),
    pytest.param(get("Host: a", line="GET /a#frag HTTP/1.1"), 400, id="target-fragment"),
    pytest.param(get("Host: a", line='GET /"x" HTTP/1.1'), 400, id="target-quote"),
    pytest.param(get("Host: a", line="GET /<x> HTTP/1.1"), 400, id="target-angle"),
    pytest.param(get("Host: a", line="GET /%zz HTTP/1.1"), 400, id="target-bad-percent"),
    pytest.param(get("Host: a", line="GET /a%4 HTTP/1.1"), 400, id="target-short-percent"),
    pytest.param(get("Host: a", line="GET * HTTP/1.1"), 400, id="asterisk-not-options"),
    pytest.param(get("Host: a", line="GET a.example:443 HTTP/1.1"), 400, id="authority-not-connect"),
    pytest.param(get("Host: a", line="CONNECT / HTTP/1.1"), 400, id="connect-origin-form"),
    pytest.param(get("Host: a", line="CONNECT a.example HTTP/1.1"), 400, id="connect-no-port"),
    pytest.param(get("Host: a", line="CONNECT a.example:123456 HTTP/1.1"), 400, id="connect-port-too-long"),
    pytest.param(get("Host: a", line="GET ftp://a.example/ HTTP/1.1"), 400, id="absolute-ftp"),
    pytest.param(get("Host: a", line="GET http:///x HTTP/1.1"), 400, id="absolute-empty-host"),
    pytest.param(get("Host: a", line="GET http://u:p@a.example/ HTTP/1.1"), 400, id="absolute-userinfo"),
    # versions (RFC 9112 2.3: we speak 1.0 and 1.1 only)
    pytest.param(get("Host: a", line="GET / HTTP/1.2"), 505, id="http-1.2"),
    pytest.param(get("Host: a", line="GET / HTTP/2.0"), 505, id="http-2.0"),
    pytest.param(get("Host: a", line="GET / HTTP/0.9"), 505, id="http-0.9"),
    pytest.param(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, id="h2-preface"),
    pytest.param(get("Host: a", line="GET / HTTP/1"), 400, id="version-no-minor"),
    pytest.param(get("Host: a", line="GET / http/1.1"), 400, id="version-lower-case"),
    pytest.param(get("Host: a", line="GET / HTTP/11.1"), 400, id="version-two-digits"),
    # Host (RFC 9112 3.2)
    pytest.param(get(), 400, id="no-host-1.1"),
    pytest.param(get("Host: a", "Host: a"), 400, id="two-hosts-equal"),
    pytest.param(get("Host: a", "Host: b"), 400, id="two-hosts"),
    pytest.param(get("Host: a b"), 400, id="host-space"),
    pytest.param(get("Host: a/b"), 400, id="host-slash"),
    pytest.param(get("Host: a:8x"), 400, id="host-bad-port"),
    pytest.param(get("Host: u@a"), 400, id="host-userinfo"),
    pytest.param(get("Host: [::1"), 400, id="host-open-bracket"),
]


@pytest.mark.parametrize(("data", "status"), MALFORMED_HEADS)
def test_malformed_head_is_rejected_before_any_event(data: bytes, status: int) -> None:
    reader = RequestReader()
    events = reader.feed(data)
    assert only_rejection(events) == status
    assert reader.finished and not reader.keep_alive
    assert reader.feed(get("Host: a")) == []


@pytest.mark.parametrize(("data", "status"), MALFORMED_HEADS)
def test_malformed_head_after_a_valid_request_is_rejected_after_its_events(data: bytes, status: int) -> None:
    events = RequestReader().feed(get("Host: a") + data)
    assert typed(events[:2]) == typed([started("GET", "/", [("host", "a")]), END])
    assert only_rejection(events[2:]) == status


MALFORMED_BODIES = [
    pytest.param(chunked("zz\r\n"), id="chunk-size-not-hex"),
    pytest.param(chunked("\r\n"), id="chunk-size-empty"),
    pytest.param(chunked("-1\r\n"), id="chunk-size-negative"),
    pytest.param(chunked("0x3\r\nabc\r\n0\r\n\r\n"), id="chunk-size-0x"),
    pytest.param(chunked("00000000000000003\r\nabc\r\n0\r\n\r\n"), id="chunk-size-17-digits"),
    pytest.param(chunked(" 3\r\nabc\r\n0\r\n\r\n"), id="chunk-size-leading-space"),
    pytest.param(chunked("3 \r\nabc\r\n0\r\n\r\n"), id="chunk-size-trailing-space"),
    pytest.param(chunked("3;" + "a" * 5000 + "\r\nabc\r\n0\r\n\r\n"), id="chunk-ext-too-long"),
    pytest.param(chunked("3;=x\r\nabc\r\n0\r\n\r\n"), id="chunk-ext-no-name"),
    pytest.param(chunked("3;a=b c\r\nabc\r\n0\r\n\r\n"), id="chunk-ext-bad-value"),
    pytest.param(chunked('3;a="b\r\nabc\r\n0\r\n\r\n'), id="chunk-ext-open-quote"),
    pytest.param(chunked("3\r\nabcX\r\n0\r\n\r\n"), id="chunk-data-too-long"),
    pytest.param(chunked("3\r\nabc0\r\n\r\n"), id="chunk-data-no-crlf"),
    pytest.param(chunked("3\nabc\r\n0\r\n\r\n"), id="chunk-size-bare-lf"),
    pytest.param(chunked("3\r\nabc\n0\r\n\r\n"), id="chunk-data-bare-lf"),
    pytest.param(chunked("3\r\nabc\r\n0\r\n\n"), id="last-chunk-bare-lf"),
    pytest.param(chunked("0\r\nX: 1\r\n continued\r\n\r\n"), id="trailer-obs-fold"),
    pytest.param(chunked("0\r\nX : 1\r\n\r\n"), id="trailer-space-before-colon"),
    pytest.param(chunked("0\r\nX: 1\n\n"), id="trailer-bare-lf"),
    pytest.param(chunked("0\r\n" + "X: 1\r\n" * 101 + "\r\n"), id="trailer-101-fields"),
    pytest.param(chunked("0\r\nX: " + "a" * LIMIT + "\r\n\r\n"), id="trailer-over-60KB"),
]


@pytest.mark.parametrize("data", MALFORMED_BODIES)
def test_broken_body_framing_is_rejected_and_never_ends_the_message(data: bytes) -> None:
    events = RequestReader().feed(data)
    assert isinstance(events[0], RequestStarted)
    assert all(isinstance(event, BodyData) for event in events[1:-1])
    assert isinstance(events[-1], Rejected)
    assert events[-1].status == 400


# --- valid requests: exact events -------------------------------------------------------------------------------

VALID = [
    pytest.param(get("Host: a"), [started("GET", "/", [("host", "a")]), END], id="minimal-get"),
    pytest.param(
        get("Host: a.example:8080", "User-Agent: curl/8.5.0", "Accept: */*", line="GET /p/q?x=1&y=%20 HTTP/1.1"),
        [
            started(
                "GET", "/p/q?x=1&y=%20", [("host", "a.example:8080"), ("user-agent", "curl/8.5.0"), ("accept", "*/*")]
            ),
            END,
        ],
        id="curl",
    ),
    pytest.param(
        head("POST /orders HTTP/1.1", "Host: a", "Content-Length: 3") + b"abc",
        [
            started("POST", "/orders", [("host", "a"), ("content-length", "3")], Framing.LENGTH, 3),
            BodyData(b"abc"),
            END,
        ],
        id="content-length-body",
    ),
    pytest.param(
        head("POST / HTTP/1.1", "Host: a", "Content-Length: 0"),
        [started("POST", "/", [("host", "a"), ("content-length", "0")], Framing.LENGTH, 0), END],
        id="content-length-zero",
    ),
    pytest.param(
        head("POST / HTTP/1.1", "Host: a", "Content-Length: 007") + b"1234567",
        [
            started("POST", "/", [("host", "a"), ("content-length", "007")], Framing.LENGTH, 7),
            BodyData(b"1234567"),
            END,
        ],
        id="content-length-leading-zeros",
    ),
    pytest.param(
        chunked('3;name=value;q="a \\"b\\""\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n'),
        [
            started("POST", "/", [("host", "a"), ("transfer-encoding", "chunked")], Framing.CHUNKED),
            BodyData(b"abc"),
            BodyData(b"0123456789"),
            END,
        ],
        id="chunked-with-extensions",
    ),
    pytest.param(
        chunked("0000000000000003 ; a = b\r\nabc\r\n0\r\nX-Checksum: abc\r\nX-Other:  v \r\n\r\n"),
        [
            started("POST", "/", [("host", "a"), ("transfer-encoding", "chunked")], Framing.CHUNKED),
            BodyData(b"abc"),
            MessageEnded((("x-checksum", "abc"), ("x-other", "v"))),
        ],
        id="chunked-16-digit-size-bws-ext-trailers",
    ),
    pytest.param(
        head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: Chunked") + b"0\r\n\r\n",
        [started("POST", "/", [("host", "a"), ("transfer-encoding", "Chunked")], Framing.CHUNKED), END],
        id="chunked-case-insensitive",
    ),
    pytest.param(
        head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: , chunked") + b"0\r\n\r\n",
        [started("POST", "/", [("host", "a"), ("transfer-encoding", ", chunked")], Framing.CHUNKED), END],
        id="te-empty-list-element",
    ),
    pytest.param(
        get("Host: a", "Connection: close"),
        [started("GET", "/", [("host", "a"), ("connection", "close")], keep_alive=False), END],
        id="connection-close",
    ),
    pytest.param(
        get("Host: a", "Connection: Upgrade, CLOSE"),
        [started("GET", "/", [("host", "a"), ("connection", "Upgrade, CLOSE")], keep_alive=False), END],
        id="connection-close-token-in-list",
    ),
    pytest.param(
        get(line="GET / HTTP/1.0"),
        [started("GET", "/", [], keep_alive=False, version="HTTP/1.0"), END],
        id="http-1.0-no-host-closes",
    ),
    pytest.param(
        get("Connection: Keep-Alive", line="GET / HTTP/1.0"),
        [started("GET", "/", [("connection", "Keep-Alive")], version="HTTP/1.0"), END],
        id="http-1.0-keep-alive",
    ),
    pytest.param(
        get("Host: a", line="OPTIONS * HTTP/1.1"),
        [started("OPTIONS", "*", [("host", "a")]), END],
        id="options-asterisk",
    ),
    pytest.param(
        get("Host: a.example:443", line="CONNECT a.example:443 HTTP/1.1"),
        [started("CONNECT", "a.example:443", [("host", "a.example:443")]), END],
        id="connect-authority",
    ),
    pytest.param(
        get("Host: ignored", line="GET HTTP://A.example:80/p?q HTTP/1.1"),
        [started("GET", "HTTP://A.example:80/p?q", [("host", "ignored")]), END],
        id="absolute-form-kept-as-given",
    ),
    pytest.param(
        get("Host: a", line="GET https://[2001:db8::1]?x HTTP/1.1"),
        [started("GET", "https://[2001:db8::1]?x", [("host", "a")]), END],
        id="absolute-form-ipv6-no-path",
    ),
    pytest.param(
        get("Host: a", line="FOO /x HTTP/1.1"),
        [started("FOO", "/x", [("host", "a")]), END],
        id="custom-method",
    ),
    pytest.param(
        get("Host: a", line="get / HTTP/1.1"),
        [started("get", "/", [("host", "a")]), END],
        id="lower-case-method-is-another-method",
    ),
    pytest.param(
        get("Host: a", line="GET /a{b}|c^d`e\\f?g={h} HTTP/1.1"),
        [started("GET", "/a{b}|c^d`e\\f?g={h}", [("host", "a")]), END],
        id="target-chars-browsers-send-raw",
    ),
    pytest.param(
        get("Host: a", line="GET //x/./../y;p=1@:!$&'()*+,= HTTP/1.1"),
        [started("GET", "//x/./../y;p=1@:!$&'()*+,=", [("host", "a")]), END],
        id="target-rfc3986-path-chars",
    ),
    pytest.param(
        get("HOST:a", "X-Tab:\tv\t1\t", b"X-Latin: caf\xe9", "X-Empty:", "X-Spaces:    "),
        [
            started(
                "GET",
                "/",
                [("host", "a"), ("x-tab", "v\t1"), ("x-latin", "café"), ("x-empty", ""), ("x-spaces", "")],
            ),
            END,
        ],
        id="names-lowered-values-stripped-obs-text-latin1",
    ),
    pytest.param(
        get("Host: a", "Accept: text/html", "Cookie: a=1", "accept: */*"),
        [
            started(
                "GET",
                "/",
                [("host", "a"), ("accept", "text/html"), ("cookie", "a=1"), ("accept", "*/*")],
                header_map={"host": "a", "accept": "text/html, */*", "cookie": "a=1"},
            ),
            END,
        ],
        id="repeated-fields-kept-and-joined",
    ),
    pytest.param(get("Host:"), [started("GET", "/", [("host", "")]), END], id="empty-host"),
    pytest.param(get("Host: [::1]:8080"), [started("GET", "/", [("host", "[::1]:8080")]), END], id="host-ipv6-literal"),
    pytest.param(
        b"\r\n\r\n" + get("Host: a"), [started("GET", "/", [("host", "a")]), END], id="leading-empty-lines-ignored"
    ),
    pytest.param(
        get("Host: a", *[f"X-{i}: {i}" for i in range(99)]),
        [started("GET", "/", [("host", "a"), *[(f"x-{i}", str(i)) for i in range(99)]]), END],
        id="exactly-100-fields",
    ),
]


@pytest.mark.parametrize(("data", "expected"), VALID)
def test_valid_request_gives_exact_events(data: bytes, expected: list[Event]) -> None:
    reader = RequestReader()
    assert typed(reader.feed(data)) == typed(expected)
    first = expected[0]
    assert isinstance(first, RequestStarted)
    assert reader.keep_alive is first.keep_alive
    assert reader.finished is not first.keep_alive


def test_head_of_exactly_60KB_is_accepted_and_one_byte_more_rejected() -> None:
    """Lattice: the header block may be 60 KB; the limit counts the request line and the blank line."""
    base = len(get("Host: a", "X: "))
    fits = get("Host: a", "X: " + "a" * (LIMIT - base))
    assert len(fits) == LIMIT
    assert isinstance(RequestReader().feed(fits)[0], RequestStarted)
    over = get("Host: a", "X: " + "a" * (LIMIT - base + 1))
    assert RequestReader().feed(over) == [Rejected(400, f"head larger than {LIMIT} bytes")]


def test_limits_are_configurable() -> None:
    assert isinstance(RequestReader(max_head_bytes=100, max_headers=2).feed(get("Host: a", "X: 1"))[0], RequestStarted)
    assert RequestReader(max_headers=2).feed(get("Host: a", "X: 1", "Y: 2")) == [
        Rejected(400, "more than 2 header fields")
    ]
    assert RequestReader(max_head_bytes=30).feed(get("Host: a", "X: 12345678")) == [
        Rejected(400, "head larger than 30 bytes")
    ]


def test_oversized_head_is_rejected_before_it_ends() -> None:
    """A head with no end in sight is refused as soon as it passes the limit, not buffered further."""
    reader = RequestReader()
    assert reader.feed(b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * LIMIT) == [
        Rejected(400, f"head larger than {LIMIT} bytes")
    ]


def test_bare_lf_head_is_rejected_without_waiting_for_crlf_crlf() -> None:
    assert RequestReader().feed(b"GET / HTTP/1.1\nHost: a\n\n") == [Rejected(400, "bare LF in the head")]


def test_reasons_name_the_fault() -> None:
    assert RequestReader().feed(get("Host: a", "X: 1", " more")) == [
        Rejected(400, "obsolete line folding in header fields")
    ]
    assert RequestReader().feed(get("Host : a")) == [Rejected(400, "whitespace between a header name and its colon")]
    assert RequestReader().feed(get("Host: a", "Host: b")) == [Rejected(400, "more than one Host")]
    assert RequestReader().feed(get("Host: a", line="GET / HTTP/2.0")) == [Rejected(505, "HTTP/2.0 is not supported")]


# --- connections: pipelining, keep-alive, end of input ----------------------------------------------------------


def test_pipelined_requests_are_read_in_order() -> None:
    data = head("POST /1 HTTP/1.1", "Host: a", "Content-Length: 2") + b"hi" + get("Host: b", line="GET /2 HTTP/1.1")
    assert typed(RequestReader().feed(data)) == typed(
        [
            started("POST", "/1", [("host", "a"), ("content-length", "2")], Framing.LENGTH, 2),
            BodyData(b"hi"),
            END,
            started("GET", "/2", [("host", "b")]),
            END,
        ]
    )


def test_bytes_after_a_closing_request_are_ignored() -> None:
    reader = RequestReader()
    events = reader.feed(get("Host: a", "Connection: close") + get("Host: b"))
    assert [type(event) for event in events] == [RequestStarted, MessageEnded]
    assert reader.finished and not reader.keep_alive
    assert reader.feed(get("Host: c")) == []


def test_keep_alive_reflects_the_current_request() -> None:
    reader = RequestReader()
    assert reader.keep_alive
    reader.feed(get("Host: a"))
    assert reader.keep_alive and not reader.finished
    reader.feed(get("Connection: keep-alive, close", line="GET / HTTP/1.0"))
    assert not reader.keep_alive and reader.finished


def test_eof_between_requests_is_a_normal_end() -> None:
    reader = RequestReader()
    reader.feed(get("Host: a") + b"\r\n")
    assert reader.feed_eof() == []
    assert reader.finished and not reader.keep_alive


@pytest.mark.parametrize(
    "data",
    [b"GET / HT", get("Host: a", line="POST / HTTP/1.1")[:-2] + b"Content-Length: 5\r\n\r\nab", chunked("3\r\nab")],
    ids=["mid-head", "mid-length-body", "mid-chunk"],
)
def test_eof_inside_a_request_is_rejected(data: bytes) -> None:
    reader = RequestReader()
    reader.feed(data)
    assert reader.feed_eof() == [Rejected(400, "connection closed before the request was complete")]
    assert reader.feed_eof() == []


def test_body_arriving_in_one_piece_is_not_copied() -> None:
    reader = RequestReader()
    reader.feed(head("POST / HTTP/1.1", "Host: a", "Content-Length: 10000"))
    piece = b"x" * 5000
    events = reader.feed(piece)
    assert events == [BodyData(piece)] and events[0][0] is piece


def test_a_head_dripping_in_byte_by_byte_is_read() -> None:
    data = get("Host: a", "X: " + "a" * 20000)
    reader = RequestReader()
    events = [event for i in range(len(data)) for event in reader.feed(data[i : i + 1])]
    assert typed(events) == typed([started("GET", "/", [("host", "a"), ("x", "a" * 20000)]), END])


# --- properties -------------------------------------------------------------------------------------------------

KEEP_ALIVE_STREAMS: list[bytes] = [data for data, expected in values(VALID) if expected[0].keep_alive]
KEEP_ALIVE_EVENTS: dict[bytes, list[Event]] = dict(values(VALID))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(KEEP_ALIVE_STREAMS), min_size=1, max_size=4), st.data())
def test_any_split_of_a_valid_stream_gives_the_same_events(requests: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(requests)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    expected = [event for request in requests for event in KEEP_ALIVE_EVENTS[request]]
    assert coalesced(feed_pieces(RequestReader(), stream, cuts)) == coalesced(expected)


MALFORMED_STATUS: dict[bytes, int] = dict(values(MALFORMED_HEADS))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(MALFORMED_STATUS)), st.data())
def test_any_split_of_a_malformed_head_gives_the_same_status(request: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(request)), max_size=8))
    events = feed_pieces(RequestReader(), request, cuts)
    assert only_rejection(events) == MALFORMED_STATUS[request]


def _well_formed(events: list[Event]) -> None:
    """At most one Rejected, and nothing after it."""
    rejected = [i for i, event in enumerate(events) if isinstance(event, Rejected)]
    assert rejected in ([], [len(events) - 1])


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=10))
def test_random_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    for reader in (RequestReader(), ResponseReader("GET"), ResponseReader("HEAD")):
        events = feed_pieces(reader, data, [cut for cut in cuts if cut <= len(data)])
        events += reader.feed_eof()
        _well_formed(events)


ALPHABET = st.sampled_from(list(b'\r\n\t :;,="0123456789abcdefAHT/.?*%\x00\x7f\xe9 '))


@settings(max_examples=500, deadline=None)
@given(st.sampled_from([*KEEP_ALIVE_STREAMS, *MALFORMED_STATUS]), st.lists(st.tuples(st.integers(0), ALPHABET)))
def test_mutated_requests_never_raise(request: bytes, edits: list[tuple[int, int]]) -> None:
    mutated = bytearray(request)
    for where, byte in edits:
        mutated[where % len(mutated)] = byte
    reader = RequestReader()
    events = reader.feed(bytes(mutated)) + reader.feed_eof()
    _well_formed(events)


TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
FIELD_VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(TCHARS, min_size=1, max_size=12), FIELD_VALUE | st.just("a\tb")), max_size=20))
def test_encoded_request_head_reads_back(fields: list[tuple[str, str]]) -> None:
    fields = [
        (name, value)
        for name, value in fields
        if name.lower() not in ("host", "content-length", "transfer-encoding", "connection")
    ]
    headers = [("Host", "svc.example"), *fields]
    events = RequestReader().feed(encode_request_head("PATCH", "/x?y", headers))
    assert isinstance(events[0], RequestStarted)
    assert events[0].method == "PATCH" and events[0].target == "/x?y"
    assert list(events[0].headers) == [(name.lower(), value.strip(" \t")) for name, value in headers]


# --- responses: framing per RFC 9112 6.3 ------------------------------------------------------------------------


def response(*lines: str) -> bytes:
    return head(*lines)


def answered(
    status: int,
    headers: list[tuple[str, str]],
    framing: Framing,
    length: int | None = None,
    keep_alive: bool = True,
    reason: str = "OK",
    version: str = "HTTP/1.1",
) -> ResponseStarted:
    return ResponseStarted(status, reason, version, tuple(headers), framing, length, keep_alive)


RESPONSES = [
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK", "Content-Length: 5") + b"hello",
        False,
        [answered(200, [("content-length", "5")], Framing.LENGTH, 5), BodyData(b"hello"), END],
        id="content-length",
    ),
    pytest.param(
        "HEAD",
        response("HTTP/1.1 200 OK", "Content-Length: 100"),
        False,
        [answered(200, [("content-length", "100")], Framing.NONE), END],
        id="head-has-no-body",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 204 No Content"),
        False,
        [answered(204, [], Framing.NONE, reason="No Content"), END],
        id="204-no-body",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 304 Not Modified", "Content-Length: 42"),
        False,
        [answered(304, [("content-length", "42")], Framing.NONE, reason="Not Modified"), END],
        id="304-no-body-despite-length",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK", "Transfer-Encoding: chunked") + b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
        False,
        [
            answered(200, [("transfer-encoding", "chunked")], Framing.CHUNKED),
            BodyData(b"hello"),
            MessageEnded((("x-t", "1"),)),
        ],
        id="chunked-with-trailer",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK") + b"until close",
        True,
        [answered(200, [], Framing.CLOSE, keep_alive=False), BodyData(b"until close"), END],
        id="read-until-close",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK", "Transfer-Encoding: gzip") + b"\x1f\x8b",
        True,
        [answered(200, [("transfer-encoding", "gzip")], Framing.CLOSE, keep_alive=False), BodyData(b"\x1f\x8b"), END],
        id="te-not-chunked-reads-until-close",
    ),
    pytest.param(
        "POST",
        response("HTTP/1.1 100 Continue")
        + response("HTTP/1.1 103 Early Hints", "Link: </a.css>; rel=preload")
        + response("HTTP/1.1 201 Created", "Content-Length: 0"),
        False,
        [
            InterimResponse(100, "Continue", ()),
            InterimResponse(103, "Early Hints", (("link", "</a.css>; rel=preload"),)),
            answered(201, [("content-length", "0")], Framing.LENGTH, 0, reason="Created"),
            END,
        ],
        id="interim-responses",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK", "Content-Length: 2", "Connection: close") + b"ok",
        False,
        [
            answered(200, [("content-length", "2"), ("connection", "close")], Framing.LENGTH, 2, False),
            BodyData(b"ok"),
            END,
        ],
        id="connection-close",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.0 200 OK", "Content-Length: 2") + b"ok",
        False,
        [answered(200, [("content-length", "2")], Framing.LENGTH, 2, False, version="HTTP/1.0"), BodyData(b"ok"), END],
        id="http-1.0-closes",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200", "Content-Length: 0"),
        False,
        [answered(200, [("content-length", "0")], Framing.LENGTH, 0, reason=""), END],
        id="no-reason-phrase",
    ),
    pytest.param(
        "CONNECT",
        response("HTTP/1.1 200 Connection Established"),
        False,
        [answered(200, [], Framing.NONE, reason="Connection Established"), END],
        id="connect-2xx-no-body",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK", "Content-Length: 3", "Transfer-Encoding: chunked"),
        False,
        [Rejected(502, "upstream sent Content-Length with Transfer-Encoding")],
        id="cl-te",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK", "Content-Length: 3", "Content-Length: 3"),
        False,
        [Rejected(502, "more than one Content-Length")],
        id="duplicate-cl",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK", "Content-Length: x"),
        False,
        [Rejected(502, "invalid Content-Length")],
        id="bad-cl",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked"),
        False,
        [Rejected(502, "upstream combined chunked with other transfer codings")],
        id="te-gzip-chunked",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket"),
        False,
        [Rejected(502, "upstream switched protocols (upgrades are not supported)")],
        id="101-refused",
    ),
    pytest.param(
        "GET", response("HTTP/1.1 2OO OK"), False, [Rejected(502, "malformed upstream status line")], id="bad-status"
    ),
    pytest.param(
        "GET", response("HTTP/2 200 OK"), False, [Rejected(502, "malformed upstream status line")], id="http-2"
    ),
    pytest.param(
        "GET", response("HTTP/1.2 200 OK"), False, [Rejected(502, "upstream answered HTTP/1.2")], id="http-1.2"
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK", "X: 1", " fold"),
        False,
        [Rejected(502, "obsolete line folding in header fields")],
        id="obs-fold",
    ),
    pytest.param(
        "GET", b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", False, [Rejected(502, "bare LF in the head")], id="bare-lf"
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK", "Content-Length: 10") + b"short",
        True,
        [
            answered(200, [("content-length", "10")], Framing.LENGTH, 10),
            BodyData(b"short"),
            Rejected(502, "upstream closed the connection mid-response"),
        ],
        id="truncated-body",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK", "Transfer-Encoding: chunked") + b"5\r\nhelloX",
        False,
        [
            answered(200, [("transfer-encoding", "chunked")], Framing.CHUNKED),
            BodyData(b"hello"),
            Rejected(502, "chunk data not followed by CRLF"),
        ],
        id="bad-chunk",
    ),
    pytest.param("GET", b"", True, [Rejected(502, "upstream closed the connection before answering")], id="no-answer"),
    pytest.param(
        "GET",
        b"HTTP/1.1 200 OK\r\nContent-",
        True,
        [Rejected(502, "upstream closed the connection mid-response")],
        id="eof-mid-head",
    ),
    pytest.param(
        "GET",
        response("HTTP/1.1 200 OK", *["X: 1"] * 101),
        False,
        [Rejected(502, "more than 100 header fields")],
        id="101-header-fields",
    ),
]


@pytest.mark.parametrize(("method", "data", "eof", "expected"), RESPONSES)
def test_response_framing(method: str, data: bytes, eof: bool, expected: list[Event]) -> None:
    reader = ResponseReader(method)
    events = reader.feed(data) + (reader.feed_eof() if eof else [])
    assert typed(events) == typed(expected)
    assert reader.finished
    final = [event for event in expected if isinstance(event, ResponseStarted)]
    clean_end = bool(final) and final[0].keep_alive and not eof and not isinstance(expected[-1], Rejected)
    assert reader.keep_alive is clean_end


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(values(RESPONSES)), st.data())
def test_any_split_of_a_response_gives_the_same_events(
    case: tuple[str, bytes, bool, list[Event]], data: st.DataObject
) -> None:
    method, stream, eof, expected = case
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    reader = ResponseReader(method)
    events = feed_pieces(reader, stream, cuts) + (reader.feed_eof() if eof else [])
    assert coalesced(events) == coalesced(expected)


def test_bytes_after_the_response_forbid_reuse() -> None:
    reader = ResponseReader("GET")
    events = reader.feed(response("HTTP/1.1 200 OK", "Content-Length: 2") + b"okEXTRA")
    assert typed(events) == typed([answered(200, [("content-length", "2")], Framing.LENGTH, 2), BodyData(b"ok"), END])
    assert reader.finished and not reader.keep_alive


def test_a_reused_connection_keeps_alive_after_a_complete_response() -> None:
    reader = ResponseReader("GET")
    reader.feed(response("HTTP/1.1 200 OK", "Content-Length: 2") + b"ok")
    assert reader.finished and reader.keep_alive
    assert reader.feed_eof() == []


# --- writers ----------------------------------------------------------------------------------------------------


def test_encode_request_head_exact_bytes() -> None:
    assert encode_request_head("GET", "/a?b", [("host", "svc"), ("x-forwarded-for", "10.0.0.1")]) == (
        b"GET /a?b HTTP/1.1\r\nhost: svc\r\nx-forwarded-for: 10.0.0.1\r\n\r\n"
    )


def test_encode_response_head_exact_bytes_with_latin1_values() -> None:
    assert encode_response_head(404, "Not Found", [("content-length", "0"), ("x-note", "café")]) == (
        b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nx-note: caf\xe9\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/", [("x", "a\r\nInjected: 1")]),
        ("/", [("x", "a\nb")]),
        ("/", [("x", "a\rb")]),
        ("/", [("x\r\ny", "1")]),
        ("/ HTTP/1.1\r\nHost: evil\r\n\r\nGET /", []),
    ],
    ids=["crlf-in-value", "lf-in-value", "cr-in-value", "crlf-in-name", "crlf-in-target"],
)
def test_encoders_refuse_head_splitting(target: str, headers: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        encode_request_head("GET", target, headers)


def test_encode_response_head_refuses_crlf_in_reason() -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        encode_response_head(200, "OK\r\nSet-Cookie: a=1", [])


def test_chunks() -> None:
    assert encode_chunk(b"hello world, this is 31 bytes!!") == b"1f\r\nhello world, this is 31 bytes!!\r\n"
    assert encode_chunk(b"") == b""
    assert END_CHUNK == b"0\r\n\r\n"
    assert encode_last_chunk() == END_CHUNK
    assert encode_last_chunk([("x-checksum", "abc")]) == b"0\r\nx-checksum: abc\r\n\r\n"


def test_encoded_chunked_body_reads_back() -> None:
    body = encode_chunk(b"abc") + encode_chunk(b"") + encode_chunk(b"x" * 300) + encode_last_chunk([("t", "1")])
    events = RequestReader().feed(head("PUT / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked") + body)
    assert typed(events[1:]) == typed([BodyData(b"abc"), BodyData(b"x" * 300), MessageEnded((("t", "1"),))])


# --- lines seen before: the caches of validated lines change no outcome -------------------------------------------


def _mutated(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    mutated = bytearray(data)
    for where, byte in edits if data else ():
        mutated[where % len(mutated)] = byte
    return bytes(mutated)


def _forget_known_lines() -> None:
    for known in (
        http1_grammar._KNOWN_FIELDS,
        http1_grammar._KNOWN_REQUEST_LINES,
        http1_grammar._KNOWN_STATUS_LINES,
        http1._KNOWN_REQUEST_HEADS,
        http1._KNOWN_RESPONSE_HEADS,
    ):
        known.clear()


@settings(max_examples=500, deadline=None)
@given(st.sampled_from([*KEEP_ALIVE_STREAMS, *MALFORMED_STATUS]), st.lists(st.tuples(st.integers(0), ALPHABET)))
def test_a_request_reads_the_same_whatever_lines_were_seen_before(request: bytes, edits: list[tuple[int, int]]) -> None:
    """Valid or mutated, a request gives the same events with no line known as after its own lines (and the
    original's) were read: a known line only ever stands for the checks it passed."""
    mutated = _mutated(request, edits)
    _forget_known_lines()
    first = typed(RequestReader().feed(mutated))
    RequestReader().feed(request)
    assert typed(RequestReader().feed(mutated)) == first


_RESPONSE_STREAMS = [(method, stream) for method, stream, _, _ in values(RESPONSES)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_RESPONSE_STREAMS), st.lists(st.tuples(st.integers(0), ALPHABET)))
def test_a_response_reads_the_same_whatever_lines_were_seen_before(
    case: tuple[str, bytes], edits: list[tuple[int, int]]
) -> None:
    """The same for responses (status lines and fields) and their trailers."""
    method, stream = case
    mutated = _mutated(stream, edits)
    _forget_known_lines()
    first = typed(ResponseReader(method).feed(mutated))
    ResponseReader(method).feed(stream)
    assert typed(ResponseReader(method).feed(mutated)) == first


def test_only_short_valid_lines_are_kept() -> None:
    """A malformed line is never kept, nor one over the length bound (tokens and cookies rarely repeat)."""
    _forget_known_lines()
    RequestReader().feed(get("Host: a", "X: " + "v" * 300))
    RequestReader().feed(get("Host: a", "Bad Name: x"))
    assert set(http1_grammar._KNOWN_FIELDS) == {"Host: a"}
    assert set(http1_grammar._KNOWN_REQUEST_LINES) == {"GET / HTTP/1.1"}


def test_a_head_seen_before_is_one_look_up_and_only_valid_short_heads_are_kept() -> None:
    """Whole heads are remembered like lines: the second read of a head gives the very same event; a malformed
    head, or one longer than the bound, is never kept; responses are kept per request method (HEAD frames
    differently)."""
    _forget_known_lines()
    first = RequestReader().feed(get("Host: a"))[0]
    assert RequestReader().feed(get("Host: a"))[0] is first
    RequestReader().feed(get("Host: a", "Bad Name: x"))
    RequestReader().feed(get("Host: a", "X: " + "v" * 3000))
    assert list(http1._KNOWN_REQUEST_HEADS) == ["GET / HTTP/1.1\r\nHost: a\r\n"]
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    get_events, head_events = ResponseReader("GET").feed(answer), ResponseReader("HEAD").feed(answer)
    assert [type(e).__name__ for e in get_events] == ["ResponseStarted", "BodyData", "MessageEnded"]
    assert [type(e).__name__ for e in head_events] == ["ResponseStarted", "MessageEnded"]
    assert ResponseReader("GET").feed(answer)[0] is get_events[0]
    assert set(http1._KNOWN_RESPONSE_HEADS) == {"GET", "HEAD"}


_LINE_POOL = st.sampled_from(
    ["Host: a", "X: 1", "x:1", "X:  spaced \t", "Accept: */*", "X : 1", " folded", "X: a\x00b", "X: a\nb", "X(y): 1",
     "X: \xe9", "X: a\rb", ":empty", "X-Long: " + "v" * 300, "Y:"]
)  # fmt: skip


def _outcome(parse: Any, text: str) -> Any:
    try:
        return parse(text, 0, 4, 400)
    except http1_grammar._Malformed as error:
        return (error.status, error.reason)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(_LINE_POOL, min_size=1, max_size=6), min_size=1, max_size=4))
def test_field_blocks_parse_as_the_reference_whatever_was_seen_before(blocks: list[list[str]]) -> None:
    """Blocks of valid and invalid lines, parsed one after another (so later ones meet lines seen before): the
    same fields, or the same status and reason, as the one-pass reference that keeps nothing."""
    _forget_known_lines()
    for lines in blocks:
        text = "".join(f"{line}\r\n" for line in lines)
        assert _outcome(http1_grammar._parse_fields, text) == _outcome(http1_grammar._parse_all_fields, text)


# --- take_known: the one-step path for a repeated whole message gives what feed gives ---------------------------------

_REQUEST_STREAMS = [*KEEP_ALIVE_STREAMS, *MALFORMED_STATUS, *(data for data, _ in values(VALID))]


def _after(reader: RequestReader | ResponseReader, more: bytes) -> tuple[Any, ...]:
    """What a reader does next: the events of more bytes, then of the end, and its flags."""
    return (typed(reader.feed(more)), typed(reader.feed_eof()), reader.finished, reader.keep_alive)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(_REQUEST_STREAMS), st.lists(st.tuples(st.integers(0), ALPHABET)), st.sampled_from(_REQUEST_STREAMS)
)
def test_take_known_on_a_request_is_feed_in_one_step(data: bytes, edits: list[tuple[int, int]], more: bytes) -> None:
    """With the heads known (read once before), a request that take_known accepts gives the events feed gives
    (its RequestStarted, then MessageEnded), and the reader carries on exactly as after feed; mutated input is
    never taken."""
    data = _mutated(data, edits) if edits else data
    RequestReader().feed(data)  # remember its head, if it is a valid one
    fed, taken = RequestReader(), RequestReader()
    started = taken.take_known(data)
    events = fed.feed(data)
    if started is None:
        return
    assert typed(events) == typed([started, http1.ENDED])
    assert (taken.finished, taken.keep_alive) == (fed.finished, fed.keep_alive)
    assert _after(taken, more) == _after(fed, more)


def test_take_known_refuses_what_feed_must_read() -> None:
    """Unknown heads, bodies, pipelined requests, leading blank lines, a reader mid-message: None."""
    _forget_known_lines()
    assert RequestReader().take_known(get("Host: a")) is None  # not seen yet
    RequestReader().feed(get("Host: a"))
    assert RequestReader().take_known(get("Host: a")) is not None
    assert RequestReader().take_known(get("Host: a") * 2) is None  # two requests in one read
    assert RequestReader().take_known(b"\r\n" + get("Host: a")) is None
    assert RequestReader(max_headers=10).take_known(get("Host: a")) is None  # other limits: the full path
    posted = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n"
    RequestReader().feed(posted + b"ok")
    assert RequestReader().take_known(posted) is None  # a body follows
    midway = RequestReader()
    midway.feed(b"GET / HTTP/1.1\r\n")
    assert midway.take_known(get("Host: a")) is None


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_RESPONSE_STREAMS), st.lists(st.tuples(st.integers(0), ALPHABET)), st.binary(max_size=8))
def test_take_known_on_a_response_is_feed_in_one_step(
    case: tuple[str, bytes], edits: list[tuple[int, int]], more: bytes
) -> None:
    """The same for whole responses: the head and body take_known returns are feed's ResponseStarted, BodyData
    and MessageEnded, and the reader ends the same way (later bytes too)."""
    method, stream = case
    data = _mutated(stream, edits) if edits else stream
    ResponseReader(method).feed(data)
    fed, taken = ResponseReader(method), ResponseReader(method)
    whole = taken.take_known(data)
    events = fed.feed(data)
    if whole is None:
        return
    started, body = whole
    assert typed(events) == typed([started, *([BodyData(body)] if body else []), http1.ENDED])
    assert (taken.finished, taken.keep_alive) == (fed.finished, fed.keep_alive)
    assert _after(taken, more) == _after(fed, more)


def test_take_known_takes_the_common_answer() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    ResponseReader("GET").feed(answer)
    assert ResponseReader("GET").take_known(answer) is not None
    assert ResponseReader("GET").take_known(answer[:-1]) is None  # the body is not all there
    assert ResponseReader("GET").take_known(answer + b"x") is None  # bytes after it
    assert ResponseReader("HEAD").take_known(answer) is None  # a HEAD answer's head is another look-up


def test_take_known_takes_each_valid_stream_that_is_one_bodiless_request_or_one_whole_answer() -> None:
    """The property tests above would pass if take_known took nothing: here it must take these."""
    requests = [
        data
        for data, expected in values(VALID)
        if len(expected) == 2 and expected[0].framing is Framing.NONE and not data.startswith(b"\r\n")
    ]
    for data in requests:
        RequestReader().feed(data)
    assert requests and all(RequestReader().take_known(data) is not None for data in requests)
    answers = [(method, stream) for method, stream in _RESPONSE_STREAMS if stream.endswith(b"ok") or b"204" in stream]
    for method, stream in answers:
        ResponseReader(method).feed(stream)
    assert sum(ResponseReader(method).take_known(stream) is not None for method, stream in answers) >= 1
