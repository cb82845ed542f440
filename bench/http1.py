"""HTTP/1.1 head parsing benchmark: `latticework.dataplane.http1.RequestReader` against httptools' raw llhttp
parser (and h11, when installed) on the same request heads, in the same run, plus a probe of which malformed
requests llhttp lets through that the reader refuses.

What is timed, per request head, keep-alive (one reader / parser fed head after head, as on a connection):
- ours: `RequestReader.feed(head)` -> [RequestStarted(...), MessageEnded()]: parsed, validated (RFC 9112
  checks, Host, framing), header names lower-cased and values decoded to str. Fed the same head again and
  again, every line of it is known (the reader keeps validated lines: see http1's `_KNOWN_FIELDS`), as
  repeated Host, User-Agent and Accept lines are on a real connection.
- ours-new: the same reader fed heads whose field lines (all but Host) are each new: a number is appended to
  every value, so no line is known; the worst case for the known-line caches.
- httptools: `HttpRequestParser.feed_data(head)` with the minimal callbacks a relay needs (URL and the header
  name/value bytes appended to a list): no decoding, none of the checks llhttp does not do.
- httptools-floor: the same parser with no callbacks at all (llhttp's own cost).
- httptools+: what a reader built on llhttp would cost to give the same events (str, lower-case names,
  header_map, the Host checks); a lower bound, as the other checks llhttp lacks are left out.
- h11: `Connection.receive_data` + `next_event` until the request's EndOfMessage (a pure-Python peer).

Timings are the best of R interleaved rounds of N heads each (the machine is shared: the best round is the
least disturbed one). The last two columns are ratios to httptools+, the lower bound of an llhttp-backed reader.

    .venv/bin/python bench/http1.py
    .venv/bin/python bench/http1.py --n 20000 --rounds 15
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import httptools

from latticework.dataplane.http1 import Event, Framing, MessageEnded, Rejected, RequestReader, RequestStarted

GOAL_US = 10.0

TYPICAL = (
    b"GET /api/v1/orders?limit=10&sort=desc HTTP/1.1\r\n"
    b"Host: orders-0123456789abcdef0.7d67968.vpc-lattice-svcs.us-east-1.on.aws\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36\r\n"
    b"Accept: application/json, text/plain, */*\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Accept-Language: en-US,en;q=0.9\r\n"
    b"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl\r\n"
    b"X-Request-Id: 7f1c0a52-3f3e-4a43-9d1e-6f0f3c2b9a10\r\n"
    b"Connection: keep-alive\r\n"
    b"\r\n"
)
CURL = b"GET /health HTTP/1.1\r\nHost: svc.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
POST = (
    b"POST /api/v1/orders HTTP/1.1\r\nHost: svc.example.com\r\nContent-Type: application/json\r\n"
    b"Content-Length: 27\r\n\r\n" + b'{"item": "book", "qty": 1}\n'
)
HEADS = {"typical (8 headers)": TYPICAL, "curl (3 headers)": CURL, "POST + 27-byte body": POST}

# Requests the reader must accept: does llhttp?
VALID_PROBES = {
    "custom method FOO": b"FOO / HTTP/1.1\r\nHost: a\r\n\r\n",
    "custom method PURGE-ALL": b"PURGE-ALL /cache HTTP/1.1\r\nHost: a\r\n\r\n",
}
# Malformed requests: does llhttp (httptools) refuse them? The reader refuses every one.
PROBES = {
    "obs-fold": b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
    "bare LF line ends": b"GET / HTTP/1.1\nHost: a\n\n",
    "bare LF inside head": b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
    "bare CR inside head": b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
    "CL + TE": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "duplicate equal CL": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "CL with sign": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
    "TE gzip, chunked": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "TE chunked, gzip": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    "TE on HTTP/1.0": b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "space before colon": b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "NUL in value": b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
    "DEL in value": b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n",
    "name not a token": b"GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n",
    "missing Host (1.1)": b"GET / HTTP/1.1\r\n\r\n",
    "two Host fields": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "invalid Host": b"GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n",
    "HTTP/2.0 request line": b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    "target with space": b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
    "target not a form": b"GET abc HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET *": b"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
    "chunk size non-hex": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "chunk size 17 digits": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000001\r\nx\r\n0\r\n\r\n"
    ),
    "chunk data without CRLF": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n",
    "head of 200 KB": b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 200_000 + b"\r\n\r\n",
    "101 header fields": b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: 1\r\n" * 100 + b"\r\n",
}


class _Collect:
    """The callbacks a relay would need from httptools: the URL and the raw header pairs."""

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.url = b""

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers = []


class _OnLlhttp:
    """The same events as RequestReader from llhttp's callbacks: the cost of the alternative design."""

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.events: list[Event] = []
        self.fields: list[tuple[str, str]] = []
        self.url = ""

    def on_message_begin(self) -> None:
        self.fields = []

    def on_url(self, url: bytes) -> None:
        self.url = url.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        index = dict(self.fields)
        if len(index) != len(self.fields) or "host" not in index:
            self.events.append(Rejected(400, "Host"))
            return
        method, version = self.parser.get_method().decode(), "HTTP/" + self.parser.get_http_version()
        keep_alive = self.parser.should_keep_alive()
        fields = tuple(self.fields)
        self.events.append(RequestStarted(method, self.url, version, fields, index, Framing.NONE, None, keep_alive))

    def on_message_complete(self) -> None:
        self.events.append(MessageEnded())

    def feed(self, data: bytes) -> list[Event]:
        self.events = []
        self.parser.feed_data(data)
        return self.events


def ours(head: bytes) -> Callable[[], object]:
    reader = RequestReader()
    events = reader.feed(head)
    assert not isinstance(events[0], Rejected), events
    return lambda: reader.feed(head)


def ours_new(head: bytes, count: int) -> Callable[[], object]:
    """`count` variants of `head` in which every field line is new (a number appended to its value), except
    the ones that decide the message's meaning: Host, Content-Length, Connection."""
    block, _, body = head.partition(b"\r\n\r\n")
    first, *fields = block.split(b"\r\n")
    kept = (b"host:", b"content-length:", b"connection:")
    variants = iter(
        [
            b"\r\n".join([first, *(f if f.lower().startswith(kept) else b"%s%d" % (f, i) for f in fields)])
            + b"\r\n\r\n"
            + body
            for i in range(count)
        ]
    )
    reader = RequestReader()
    assert not isinstance(RequestReader().feed(next(variants))[0], Rejected)
    return lambda: reader.feed(next(variants))


def httptools_callbacks(head: bytes) -> Callable[[], object]:
    parser = httptools.HttpRequestParser(_Collect())
    return lambda: parser.feed_data(head)


def httptools_plus(head: bytes) -> Callable[[], object]:
    reader = _OnLlhttp()
    return lambda: reader.feed(head)


def httptools_floor(head: bytes) -> Callable[[], object]:
    parser = httptools.HttpRequestParser(object())
    return lambda: parser.feed_data(head)


def h11_peer(head: bytes) -> Callable[[], object] | None:
    try:
        import h11
    except ImportError:
        return None
    connection = h11.Connection(h11.SERVER)

    def one() -> object:
        connection.receive_data(head)
        while not isinstance(event := connection.next_event(), h11.EndOfMessage):
            pass
        connection.send(h11.Response(status_code=200, headers=[("content-length", "0")]))
        connection.send(h11.EndOfMessage())
        connection.start_next_cycle()
        return event

    return one


def best_us(runners: dict[str, Callable[[], object]], n: int, rounds: int) -> dict[str, float]:
    """Best per-call time of each runner over `rounds` interleaved rounds of `n` calls."""
    best = dict.fromkeys(runners, float("inf"))
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            for _ in range(n):
                run()
            best[name] = min(best[name], (time.perf_counter() - start) / n * 1e6)
    return best


def llhttp_refuses(data: bytes) -> bool:
    parser = httptools.HttpRequestParser(_Collect())
    try:
        parser.feed_data(data)
    except httptools.HttpParserError:
        return True
    return False


def ours_refuses(data: bytes) -> str:
    events: list[Any] = RequestReader().feed(data)
    rejected = [event for event in events if isinstance(event, Rejected)]
    return f"{rejected[0].status} {rejected[0].reason}" if rejected else "accepted"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=10_000, help="heads per round")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds; the best is kept")
    args = parser.parse_args()
    print(
        "| head | ours µs | ours-new µs | httptools µs | httptools-floor µs | httptools+ µs | h11 µs "
        "| ours / httptools+ | ours-new / httptools+ |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    typical = 0.0
    for label, head in HEADS.items():
        runners = {
            "ours": ours(head),
            "new": ours_new(head, args.n * args.rounds + 1),
            "httptools": httptools_callbacks(head),
            "floor": httptools_floor(head),
            "plus": httptools_plus(head),
        }
        peer = h11_peer(head)
        if peer is not None:
            runners["h11"] = peer
        best = best_us(runners, args.n, args.rounds)
        typical = typical or best["ours"]
        h11_us = f"{best['h11']:.2f}" if "h11" in best else "-"
        print(
            f"| {label} | {best['ours']:.2f} | {best['new']:.2f} | {best['httptools']:.2f} | {best['floor']:.2f} "
            f"| {best['plus']:.2f} | {h11_us} "
            f"| {best['ours'] / best['plus']:.2f}x | {best['new'] / best['plus']:.2f}x |"
        )
    print(f"\ngoal <= {GOAL_US:.0f} µs per typical 8-header head: {'met' if typical <= GOAL_US else 'not met'}")
    print("\n| valid request | llhttp | ours |")
    print("|---|---|---|")
    for label, data in VALID_PROBES.items():
        print(f"| {label} | {'REFUSES' if llhttp_refuses(data) else 'accepts'} | {ours_refuses(data)} |")
    print("\n| malformed request | llhttp | ours |")
    print("|---|---|---|")
    for label, data in PROBES.items():
        print(f"| {label} | {'refuses' if llhttp_refuses(data) else 'ACCEPTS'} | {ours_refuses(data)} |")


if __name__ == "__main__":
    main()
