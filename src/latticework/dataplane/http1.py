"""HTTP/1.1 message reading and head writing for the relay, strict per RFC 9112: sans-IO (bytes in, events out).

Owns `RequestReader` (client side: requests, pipelined keep-alive), `ResponseReader` (upstream side: 1xx
interim responses, framing per RFC 9112 6.3), the memo of whole heads, and the head/chunk writers; the events and
the grammar of heads (start lines, field blocks, framing, the caches of validated lines) are `http1_grammar`'s,
re-exported here. No I/O, no clock.

Pure Python rather than httptools (llhttp), chosen by measuring both (bench/http1.py, bench/README.md). llhttp
refuses methods outside its fixed table (`FOO / HTTP/1.1`; Lattice rules match custom methods), so a second
parser would be needed anyway; through httptools the chunk-size digits and chunk-extension lengths cannot be
bounded; it accepts a missing or repeated Host, `HTTP/2.0`, Transfer-Encoding on HTTP/1.0 and heads of any size.
And it does not pay: the Python work of turning its callbacks into these events (str, lower-case names, the
index) costs more than this reader on lines it has seen before (an 8-field head: 5.0 µs through llhttp with
the checks above still missing, 3.2 µs here), and saves ~2 µs only on heads whose every line is new.

Here a head is decoded once (latin-1, so obs-text round-trips); a whole head seen before is one dict look-up
(`_KNOWN_REQUEST_HEADS`, `_KNOWN_RESPONSE_HEADS`), and so, without even the reader's steps, is a read that is
exactly one such message (`take_known`); otherwise each start and field line seen before is a dict look-up
(`http1_grammar._KNOWN_FIELDS` and friends), new ones are validated by one regex pass and split.
Events are NamedTuples, not frozen dataclasses: as immutable, built 4x faster (0.5 vs 2.1 µs).

Policy (strict where RFC 9112 leaves a choice; Lattice answers 400 to malformed requests):
- A head (start line, fields, blank line) is at most `max_head_bytes` (60 KB) with at most `max_headers` (100)
  fields (Lattice access-log troubleshooting: beyond that, 400); trailer sections get the same limits.
- Targets: the four forms of RFC 9112 3.2, in visible ASCII except `"#<>`, `%` only as `%XX`. `{}|\\^`` ` are
  accepted: browsers send them unencoded (WHATWG URL encode sets), and nginx accepts them.
- Header names are lower-cased, values OWS-stripped str; order and repeats are kept.
- A head is rejected before any event of its request, so nothing of it is forwarded. Broken body framing is
  found after `RequestStarted`: the relay must then abort the upstream request, never complete it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from latticework.dataplane._fastpath import remember
from latticework.dataplane.http1_grammar import (
    _CHUNK_LINE,
    _ENDED,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    BodyData,
    Event,
    Framing,
    Headers,
    InterimResponse,
    MessageEnded,
    Rejected,
    RequestStarted,
    ResponseStarted,
    _Buffer,
    _Malformed,
    _parse_fields,
    _parse_request_head,
    _parse_response_head,
)

__all__ = [
    "ENDED",
    "END_CHUNK",
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "BodyData",
    "Event",
    "Framing",
    "Headers",
    "InterimResponse",
    "MessageEnded",
    "Rejected",
    "RequestReader",
    "RequestStarted",
    "ResponseReader",
    "ResponseStarted",
    "encode_chunk",
    "encode_last_chunk",
    "encode_request_head",
    "encode_response_head",
    "field_lines",
]

ENDED = _ENDED  # the MessageEnded of a message without trailers (events are immutable: one object serves all)
MAX_CHUNK_LINE = 4096  # a chunk-size line with its extensions; longer is refused, not buffered
# Whole heads, the same way: a head parses to the same event every time (events are immutable; their header
# maps are never written to), so a head seen before is one look-up. Clients repeat heads (a poller, a health
# check, one API call in a loop; a target's answers differ in Date once a second); signed requests never do, and
# cost one missed look-up. Heads up to _MAX_KNOWN_HEAD characters, with the default field limit.
_MAX_KNOWN_HEAD = 2048
_MAX_KNOWN_HEADS = 4096
_KNOWN_REQUEST_HEADS: dict[str, RequestStarted] = {}
_KNOWN_RESPONSE_HEADS: dict[str, dict[str, ResponseStarted | InterimResponse]] = {}  # by request method


# --- the readers ------------------------------------------------------------------------------------------------


def _bytes(buf: _Buffer, start: int, stop: int) -> bytes:
    """buf[start:stop] as bytes, without a copy when that is all of a bytes object."""
    if type(buf) is bytes:
        return buf if start == 0 and stop == len(buf) else buf[start:stop]
    return bytes(memoryview(buf)[start:stop])


class _MessageReader:
    """Buffering, head location and body framing shared by both sides; subclasses turn a head into events.

    The state is the current step: a method that reads `buf` from `pos`, appends events and returns the new
    position, or -1 when it needs more bytes or the reader is finished. Unconsumed bytes wait for the next feed.
    """

    _error_status = 400  # the status of a Rejected for broken framing on this side
    _many_messages = False  # requests: pipelined keep-alive requests follow; responses: one per reader

    def __init__(self, max_head_bytes: int, max_headers: int) -> None:
        self._max_head_bytes, self._max_headers = max_head_bytes, max_headers
        self._buf = bytearray()  # bytes received and not consumed yet (grows in place: a slow drip stays linear)
        self._scan, self._remaining = 0, 0  # where the search for a head's end resumes; body bytes left
        # The state holds plain functions, not bound methods: a bound method in an attribute would make every
        # reader a reference cycle, freed only by the cyclic GC (measured: a gen-0 collection every ~250
        # responses) instead of when the relay drops it.
        self._after_data: Callable[[_MessageReader, list[Event]], None] = _MessageReader._end_message
        self._step: Callable[[_MessageReader, _Buffer, int, list[Event]], int] = _MessageReader._read_head
        self._finished, self._keep_alive = False, False

    @property
    def finished(self) -> bool:
        """True once the reader takes nothing more: after Rejected, after the last message of the connection
        (or the one response of a ResponseReader), after feed_eof. Later bytes are ignored."""
        return self._finished

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another message after the current (or last) one: False after
        Rejected or feed_eof, or once bytes arrived after what had to be the last message."""
        return self._keep_alive

    def feed(self, data: bytes) -> list[Event]:
        """Bytes received on the connection, in order, in pieces of any size; the events they complete."""
        if not data:
            return []
        if self._finished:
            self._keep_alive = False  # bytes after what had to be the last message: no reuse
            return []
        buf: _Buffer = data
        if self._buf:  # the rest of a message already begun: read it in place, not by copying all of it again
            self._buf += data
            buf = self._buf
        events: list[Event] = []
        pos = 0
        while pos < len(buf) and (step := self._step(self, buf, pos, events)) >= 0:
            pos = step
        if self._finished:
            self._keep_alive = self._keep_alive and pos == len(buf)
            self._buf.clear()
        elif buf is self._buf:
            del self._buf[:pos]
        elif pos < len(buf):
            self._buf += memoryview(buf)[pos:]
        if self._scan:
            self._scan = max(0, self._scan - pos)
        return events

    def _reject(self, events: list[Event], status: int, reason: str) -> int:
        events.append(Rejected(status, reason))
        self._keep_alive = False
        self._finish()
        return -1

    def _finish(self) -> None:
        self._finished = True
        self._step = _MessageReader._idle

    def _idle(self, buf: _Buffer, pos: int, events: list[Event]) -> int:
        return -1

    def _incomplete_block(self, buf: _Buffer, pos: int, end: int, events: list[Event], what: str) -> int:
        """Wait for more of a block, or refuse it: too large, or a bare LF (its CRLF CRLF would never come)."""
        if end < 0 and len(buf) - pos <= self._max_head_bytes:
            if buf.find(b"\n\n", max(pos, self._scan)) >= 0:
                return self._reject(events, self._error_status, f"bare LF in the {what}")
            self._scan = max(pos, len(buf) - 3)  # resume the search here: no quadratic rescans of a slow drip
            return -1
        return self._reject(events, self._error_status, f"{what} larger than {self._max_head_bytes} bytes")

    def _read_head(self, buf: _Buffer, pos: int, events: list[Event]) -> int:
        if buf[pos] == 13 and self._many_messages:  # RFC 9112 2.2: SHOULD ignore empty lines before a request
            while buf.startswith(b"\r\n", pos):
                pos += 2
        end = buf.find(b"\r\n\r\n", max(pos, self._scan) if self._scan else pos)
        if end < 0 or end + 4 - pos > self._max_head_bytes:
            return self._incomplete_block(buf, pos, end, events, "head")
        self._scan = 0
        try:
            self._on_head(buf[pos : end + 2].decode("latin-1"), events)
        except _Malformed as error:
            return self._reject(events, error.status, error.reason)
        return end + 4

    def _on_head(self, text: str, events: list[Event]) -> None:
        raise NotImplementedError

    def _start_body(self, framing: Framing, length: int | None, events: list[Event]) -> None:
        if framing is Framing.LENGTH and length:
            self._remaining, self._after_data = length, _MessageReader._end_message
            self._step = _MessageReader._read_data
        elif framing is Framing.CHUNKED:
            self._step = _MessageReader._read_chunk_line
        elif framing is Framing.CLOSE:
            self._step = _MessageReader._read_until_close
        else:
            self._end_message(events)

    def _end_message(self, events: list[Event], trailers: Headers = ()) -> None:
        events.append(MessageEnded(trailers) if trailers else _ENDED)
        if self._keep_alive and self._many_messages:
            self._step = _MessageReader._read_head  # the next pipelined request
        else:
            self._finish()

    def _read_data(self, buf: _Buffer, pos: int, events: list[Event]) -> int:
        """Content-Length bytes or one chunk's data: `_remaining` bytes, then `_after_data`."""
        take = min(len(buf) - pos, self._remaining)
        events.append(BodyData(_bytes(buf, pos, pos + take)))
        self._remaining -= take
        if not self._remaining:
            self._after_data(self, events)
        return pos + take

    def _read_until_close(self, buf: _Buffer, pos: int, events: list[Event]) -> int:
        events.append(BodyData(_bytes(buf, pos, len(buf))))
        return len(buf)

    def _read_chunk_line(self, buf: _Buffer, pos: int, events: list[Event]) -> int:
        end = buf.find(b"\r\n", pos, pos + MAX_CHUNK_LINE + 2)
        if end < 0:
            if len(buf) - pos > MAX_CHUNK_LINE:
                return self._reject(events, self._error_status, "chunk size line too long")
            if buf.find(b"\n", pos) >= 0:
                return self._reject(events, self._error_status, "bare LF in chunk framing")
            return -1
        line = _CHUNK_LINE.fullmatch(buf, pos, end)
        if line is None:
            return self._reject(events, self._error_status, "malformed chunk size line")
        self._remaining = int(line[1], 16)
        if self._remaining:
            self._after_data, self._step = _MessageReader._end_chunk, _MessageReader._read_data
        else:
            self._step = _MessageReader._read_trailers
        return end + 2

    def _end_chunk(self, events: list[Event]) -> None:
        self._step = _MessageReader._read_chunk_crlf

    def _read_chunk_crlf(self, buf: _Buffer, pos: int, events: list[Event]) -> int:
        ending = buf[pos : pos + 2]
        if ending == b"\r\n":
            self._step = _MessageReader._read_chunk_line
            return pos + 2
        if ending == b"\r":
            return -1
        return self._reject(events, self._error_status, "chunk data not followed by CRLF")

    def _read_trailers(self, buf: _Buffer, pos: int, events: list[Event]) -> int:
        if buf[pos] in b"\r\n":  # no trailers: CRLF, or a bare CR/LF that no CRLF CRLF will ever follow
            if buf.startswith(b"\r\n", pos):
                self._end_message(events)
                return pos + 2
            if buf[pos] == 13 and len(buf) - pos == 1:
                return -1
            return self._reject(events, self._error_status, "bare CR or LF after the last chunk")
        end = buf.find(b"\r\n\r\n", max(pos, self._scan))
        if end < 0 or end + 4 - pos > self._max_head_bytes:
            return self._incomplete_block(buf, pos, end, events, "trailer section")
        self._scan = 0
        try:
            trailers = _parse_fields(buf[pos : end + 2].decode("latin-1"), 0, self._max_headers)
        except _Malformed as error:
            return self._reject(events, self._error_status, f"trailer section: {error.reason}")
        self._end_message(events, trailers)
        return end + 4


class RequestReader(_MessageReader):
    """The client side of a connection: `RequestStarted`, `BodyData`*, `MessageEnded` for each request (pipelined
    keep-alive requests follow in order); or `Rejected` (400, 501, 505), after which it reads nothing more."""

    _many_messages = True

    def __init__(self, max_head_bytes: int = MAX_HEAD_BYTES, max_headers: int = MAX_HEADERS) -> None:
        super().__init__(max_head_bytes, max_headers)
        self._keep_alive = True

    def _on_head(self, text: str, events: list[Event]) -> None:
        started = _KNOWN_REQUEST_HEADS.get(text)
        if started is None:
            started = _parse_request_head(text, self._max_headers)
            if self._max_headers == MAX_HEADERS and len(text) <= _MAX_KNOWN_HEAD:
                remember(_KNOWN_REQUEST_HEADS, text, started, _MAX_KNOWN_HEADS)
        events.append(started)
        self._keep_alive = started.keep_alive
        if started.framing is Framing.NONE:  # the common GET: ended here, without the framing dispatch
            self._end_message(events)
        else:
            self._start_body(started.framing, started.content_length, events)

    def take_known(self, data: bytes) -> RequestStarted | None:
        """`feed` for the commonest read, in one step: `data` is exactly one bodiless request whose head was
        read before, on a reader waiting for a head with nothing buffered. Returns its `RequestStarted` (its
        `MessageEnded` is implied) and leaves the reader as `feed` would; None when `data` is anything else
        (then `feed` it)."""
        if self._buf or self._step is not _MessageReader._read_head or self._max_headers != MAX_HEADERS:
            return None
        if data[-4:] != b"\r\n\r\n":
            return None
        # A known head never holds a blank line, so data that is one plus CRLF is exactly one request.
        started = _KNOWN_REQUEST_HEADS.get(data[:-2].decode("latin-1"))
        if started is None or started.framing is not Framing.NONE:
            return None
        self._keep_alive = started.keep_alive
        if not started.keep_alive:
            self._finish()
        return started

    def feed_eof(self) -> list[Event]:
        """The client closed its side. Between requests that is the normal end ([]); inside one it is a
        Rejected(400) that nobody will read, but the relay must not complete the request upstream."""
        if self._finished:
            return []
        partial = self._step is not _MessageReader._read_head or self._buf.strip(b"\r\n") != b""
        self._keep_alive = False
        self._finish()
        return [Rejected(400, "connection closed before the request was complete")] if partial else []


class ResponseReader(_MessageReader):
    """The upstream side, one response per reader: `InterimResponse`* (1xx), `ResponseStarted`, `BodyData`*,
    `MessageEnded`; or `Rejected(502, ...)` for a malformed or truncated answer. The request method decides
    framing (a response to HEAD has no body, RFC 9112 6.3)."""

    _error_status = 502

    def __init__(
        self, request_method: str, max_head_bytes: int = MAX_HEAD_BYTES, max_headers: int = MAX_HEADERS
    ) -> None:
        super().__init__(max_head_bytes, max_headers)
        self._method = request_method

    def _on_head(self, text: str, events: list[Event]) -> None:
        known = _KNOWN_RESPONSE_HEADS.get(self._method)
        head = known.get(text) if known is not None else None
        if head is None:
            head = _parse_response_head(text, self._method, self._max_headers)
            if self._max_headers == MAX_HEADERS and len(text) <= _MAX_KNOWN_HEAD:
                if known is None:
                    known = (
                        _KNOWN_RESPONSE_HEADS.setdefault(self._method, {}) if len(_KNOWN_RESPONSE_HEADS) < 64 else {}
                    )
                remember(known, text, head, _MAX_KNOWN_HEADS)
        events.append(head)
        if isinstance(head, ResponseStarted):
            self._keep_alive = head.keep_alive
            self._start_body(head.framing, head.content_length, events)

    def take_known(self, data: bytes) -> tuple[ResponseStarted, bytes] | None:
        """`feed` for the commonest answer, in one step: `data` is exactly one whole response (a head read
        before, then all of its Content-Length body, or no body), first bytes of a fresh reader. Returns the
        head and the body and leaves the reader finished as `feed` would; None when `data` is anything else
        (then `feed` it)."""
        if self._buf or self._step is not _MessageReader._read_head or self._max_headers != MAX_HEADERS:
            return None
        end = data.find(b"\r\n\r\n")
        known = _KNOWN_RESPONSE_HEADS.get(self._method)
        if end < 0 or known is None:
            return None
        head = known.get(data[: end + 2].decode("latin-1"))
        if type(head) is not ResponseStarted:
            return None
        body = data[end + 4 :]
        framing = head.framing
        if not (framing is Framing.LENGTH and head.content_length == len(body)) and not (
            framing is Framing.NONE and not body
        ):
            return None
        self._keep_alive = head.keep_alive
        self._finish()
        return head, body

    def feed_eof(self) -> list[Event]:
        """The upstream closed: the end of a close-delimited body; anywhere else a truncated answer (502)."""
        if self._finished:
            return []
        until_close = self._step is _MessageReader._read_until_close
        nothing = self._step is _MessageReader._read_head and not self._buf
        self._keep_alive = False
        self._finish()
        if until_close:
            return [_ENDED]
        return [Rejected(502, f"upstream closed the connection {'before answering' if nothing else 'mid-response'}")]


# --- writing heads and chunks -----------------------------------------------------------------------------------

END_CHUNK = b"0\r\n\r\n"  # the last chunk, without trailers


def _encode_head(start_line: str, headers: Iterable[tuple[str, str]]) -> bytes:
    return field_lines(headers, start_line).encode("latin-1") + b"\r\n"


def field_lines(fields: Iterable[tuple[str, str]], start_line: str | None = None) -> str:
    """`name: value` lines, each ending CRLF (after `start_line`, when given); ValueError when a name, value or
    the start line holds CR or LF, which would split the head (request/response splitting)."""
    lines = [] if start_line is None else [start_line]
    for name, value in fields:  # a plain loop and one join: measured 25% cheaper than a join of f-strings
        lines.append(f"{name}: {value}")
    if not lines:
        return ""
    lines.append("")  # joined with CRLF: the last line's CRLF
    text = "\r\n".join(lines)
    # Every CR and LF must be one of ours.
    if text.count("\n") != len(lines) - 1 or text.count("\r") != len(lines) - 1:
        raise ValueError("CR or LF inside a start line or header field")
    return text


def encode_request_head(method: str, target: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """`METHOD target HTTP/1.1`, the fields in order, the blank line; latin-1, so parsed values round-trip."""
    return _encode_head(f"{method} {target} HTTP/1.1", headers)


def encode_response_head(status: int, reason: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """`HTTP/1.1 status reason`, the fields in order, the blank line."""
    return _encode_head(f"HTTP/1.1 {status} {reason}", headers)


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked body; empty data gives no bytes (an empty chunk would end the body)."""
    return b"%x\r\n%b\r\n" % (len(data), data) if data else b""


def encode_last_chunk(trailers: Iterable[tuple[str, str]] = ()) -> bytes:
    """The last chunk, with trailer fields when there are any (END_CHUNK when there are none)."""
    return _encode_head("0", trailers)
