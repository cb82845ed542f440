"""HTTP/1.1 message reading and head writing for the relay, strict per RFC 9112: sans-IO (bytes in, events out).

Owns `RequestReader` (client side: requests, pipelined keep-alive), `ResponseReader` (upstream side: 1xx
interim responses, framing per RFC 9112 6.3), their events, and the head/chunk writers. No I/O, no clock.

Pure Python rather than httptools (llhttp), chosen by measuring both (bench/http1.py, bench/README.md). llhttp
refuses methods outside its fixed table (`FOO / HTTP/1.1`; Lattice rules match custom methods), so a second
parser would be needed anyway; through httptools the chunk-size digits and chunk-extension lengths cannot be
bounded; it accepts a missing or repeated Host, `HTTP/2.0`, Transfer-Encoding on HTTP/1.0 and heads of any size.
And it does not pay: the Python work of turning its callbacks into these events (str, lower-case names, the
index) costs more than this reader on lines it has seen before (an 8-field head: 5.0 µs through llhttp with
the checks above still missing, 3.2 µs here), and saves ~2 µs only on heads whose every line is new.

Here a head is decoded once (latin-1, so obs-text round-trips); each start and field line seen before is a dict
look-up (`_KNOWN_FIELDS` and friends), new ones are validated by one regex pass and split; the rest is dict
look-ups and cached checks. Events are NamedTuples, not frozen dataclasses: as immutable, built 4x faster (0.5
vs 2.1 µs).

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

import enum
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple, TypeVar

__all__ = [
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
]

MAX_HEAD_BYTES = 60 * 1024
MAX_HEADERS = 100
MAX_CHUNK_LINE = 4096  # a chunk-size line with its extensions; longer is refused, not buffered

Headers = tuple[tuple[str, str], ...]
_Buffer = bytes | bytearray


class Framing(enum.Enum):
    """How the body of a message is delimited (RFC 9112 6.3)."""

    NONE = "none"  # no body: a request without CL/TE; HEAD, 1xx, 204, 304 responses
    LENGTH = "length"  # exactly content_length bytes
    CHUNKED = "chunked"
    CLOSE = "close"  # responses only: the body runs until the upstream closes the connection


class RequestStarted(NamedTuple):
    method: str  # a token, case kept
    target: str  # as sent: origin-form, absolute-form (kept whole), authority-form (CONNECT) or "*" (OPTIONS)
    version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: Headers  # (lower-case name, value) in arrival order, repeats kept
    header_map: Mapping[str, str]  # lower-case name -> value, repeats joined with ", " (RFC 9110 5.3)
    framing: Framing  # NONE, LENGTH or CHUNKED
    content_length: int | None  # set when framing is LENGTH
    keep_alive: bool  # the connection may carry another request after this one


class InterimResponse(NamedTuple):
    status: int  # 1xx except 101 (100 Continue, 102, 103 Early Hints)
    reason: str
    headers: Headers


class ResponseStarted(NamedTuple):
    status: int
    reason: str
    version: str
    headers: Headers
    framing: Framing
    content_length: int | None
    keep_alive: bool  # the upstream connection may be reused after this response


class BodyData(NamedTuple):
    data: bytes  # payload bytes (de-chunked)


class MessageEnded(NamedTuple):
    trailers: Headers = ()  # chunked trailer fields, validated like header fields


class Rejected(NamedTuple):
    status: int  # what the relay answers: 400, 501, 505; 502 for a malformed or truncated upstream answer
    reason: str


Event = RequestStarted | InterimResponse | ResponseStarted | BodyData | MessageEnded | Rejected
_ENDED = MessageEnded()  # events are immutable: the common one is built once
_TITLES = {"host": "Host", "content-length": "Content-Length"}

# RFC 9110 5.6.2 tchar; a field value is HTAB, SP, VCHAR and obs-text (5.5): never CR, LF, NUL, other controls.
_TCHAR = r"!#$%&'*+\-.^_`|~0-9A-Za-z"
_FIELD_LINES = re.compile(rf"(?:[{_TCHAR}]++:[\t\x20-\x7e\x80-\xff]*+\r\n)*+")
_FIELD_LINE = re.compile(rf"[{_TCHAR}]++:[\t\x20-\x7e\x80-\xff]*+")  # one of them, without its CRLF
_REQUEST_LINE = re.compile(rf"([{_TCHAR}]+) ([\x21-\x7e]+) (HTTP/[0-9]\.[0-9])")
_STATUS_LINE = re.compile(r"(HTTP/[0-9]\.[0-9]) ([1-9][0-9][0-9])(?: ([\t\x20-\x7e\x80-\xff]*))?")
_VERSIONS = ("HTTP/1.1", "HTTP/1.0")
_TARGET_CHARS = r"(?:[!$&-;=?-~]++|%[0-9A-Fa-f]{2})*+"
_ORIGIN_FORM = re.compile(rf"/{_TARGET_CHARS}")
_REG_NAME = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]++|%[0-9A-Fa-f]{2})*+"
_IP_LITERAL = r"\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\]"
_HOST_FIELD = re.compile(rf"(?:{_IP_LITERAL}|{_REG_NAME})(?::[0-9]*)?")
_AUTHORITY_FORM = re.compile(rf"({_IP_LITERAL}|{_REG_NAME}):([0-9]{{1,5}})")
_ABSOLUTE_FORM = re.compile(rf"(?i:https?)://({_IP_LITERAL}|{_REG_NAME})(?::[0-9]*)?(?:[/?]{_TARGET_CHARS})?")
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
# RFC 9112 7: transfer-coding = token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) ).
_TRANSFER_CODING = re.compile(rf"[{_TCHAR}]+(?:[ \t]*;[ \t]*[{_TCHAR}]+[ \t]*=[ \t]*(?:[{_TCHAR}]+|{_QUOTED}))*")
# RFC 9112 7.1.1: chunk-size [ chunk-ext ] CRLF, chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ).
_CHUNK_EXT = rf"[ \t]*;[ \t]*[{_TCHAR}]+(?:[ \t]*=[ \t]*(?:[{_TCHAR}]+|{_QUOTED}))?"
_CHUNK_LINE = re.compile(rf"([0-9A-Fa-f]{{1,16}})(?:{_CHUNK_EXT})*".encode("latin-1"))


# Lines already parsed and found valid, by their text: a request or status line, or one field line (without its
# CRLF). A line in here passed the very checks it would pass again, so a hit skips them and gives the same parse;
# anything not in here takes the full path (a test holds both paths equal on valid and mutated input). Repeats
# are the rule on a connection (Host, User-Agent, Accept; a target's Server, Content-Type, this second's Date):
# RequestReader.feed of an 8-field head measured 4.1 instead of 7.4 us, a 5-field response 5.5 instead of 7.1.
# Only lines up to _MAX_KNOWN_LINE characters are kept (long ones, tokens and cookies, rarely repeat), and a full
# cache starts over, so memory stays bounded whatever the traffic.
_T = TypeVar("_T")
_MAX_KNOWN_LINES = 4096
_MAX_KNOWN_LINE = 256
_KNOWN_FIELDS: dict[str, tuple[str, str]] = {}
_KNOWN_REQUEST_LINES: dict[str, tuple[str, str, str]] = {}
_KNOWN_STATUS_LINES: dict[str, tuple[str, int, str]] = {}
# Whole heads, the same way: a head parses to the same event every time (events are immutable; their header
# maps are never written to), so a head seen before is one look-up. Clients repeat heads (a poller, a health
# check, one API call in a loop; a target's answers differ in Date once a second); signed requests never do, and
# cost one missed look-up. Heads up to _MAX_KNOWN_HEAD characters, with the default field limit.
_MAX_KNOWN_HEAD = 2048
_KNOWN_REQUEST_HEADS: dict[str, RequestStarted] = {}
_KNOWN_RESPONSE_HEADS: dict[str, dict[str, ResponseStarted | InterimResponse]] = {}  # by request method


class _Malformed(Exception):
    """A head to refuse, with the status and reason of its `Rejected` event."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _parse_fields(text: str, start: int, max_fields: int, status: int = 400) -> Headers:
    """The field lines of `text` from `start` (each ending CRLF) as (lower-case name, value)."""
    if start == len(text):
        return ()
    lines = text[start:-2].split("\r\n")
    if len(lines) > max_fields:
        return _parse_all_fields(text, start, max_fields, status)  # the error, in the reference's order
    fields = list(map(_KNOWN_FIELDS.get, lines))  # the common case: every line seen (and validated) before
    if None in fields:
        _parse_new_lines(fields, lines, text, start, status)
    return tuple(fields)  # type: ignore[arg-type]  # no None left


def _parse_new_lines(
    fields: list[tuple[str, str] | None], lines: list[str], text: str, start: int, status: int
) -> None:
    """Fill in the fields of the lines not seen before, each checked on its own: a block passes the one-pass
    check of `_parse_all_fields` exactly when each of its lines does."""
    known = _KNOWN_FIELDS
    if len(known) >= _MAX_KNOWN_LINES:
        known.clear()  # start over: a bound on memory, and on what odd traffic costs
    # One new line: check it alone; several: one pass over the whole block is cheaper than a match per line.
    one = fields.count(None) == 1
    if not one and _FIELD_LINES.fullmatch(text, start) is None:
        raise _Malformed(status, _diagnose_fields(text[start:]))
    for i, line in enumerate(lines):
        if fields[i] is None:
            if one and _FIELD_LINE.fullmatch(line) is None:
                raise _Malformed(status, _diagnose_fields(text[start:]))
            name, _, value = line.partition(":")
            field = fields[i] = (name.lower(), value.strip(" \t"))
            if len(line) <= _MAX_KNOWN_LINE:
                known[line] = field


def _parse_all_fields(text: str, start: int, max_fields: int, status: int) -> Headers:
    """The reference: one regex pass over the block, then the split; keeps nothing."""
    # One pass checks each line is token ":" value-chars CRLF: no obs-fold, bare CR/LF, CTL, space before colon.
    if _FIELD_LINES.fullmatch(text, start) is None:
        raise _Malformed(status, _diagnose_fields(text[start:]))
    lines = text[start:-2].split("\r\n")
    if len(lines) > max_fields:
        raise _Malformed(status, f"more than {max_fields} header fields")
    fields = []
    for line in lines:  # a plain loop: measured faster here than comprehensions over partition or findall
        name, _, value = line.partition(":")
        fields.append((name.lower(), value.strip(" \t")))
    return tuple(fields)


def _remember(known: dict[str, _T], line: str, parsed: _T) -> None:
    """Keep a validated line's parse; a full cache starts over (a bound on memory, and on what odd traffic
    costs)."""
    if len(known) >= _MAX_KNOWN_LINES:
        known.clear()
    known[line] = parsed


def _diagnose_fields(block: str) -> str:
    """Why a field block failed to parse (the error path only)."""
    bad = next(line for line in block.split("\r\n") if not _FIELD_LINES.fullmatch(line + "\r\n"))
    name = bad.partition(":")[0]  # the first line that fails
    if bad[:1] in (" ", "\t"):
        return "obsolete line folding in header fields"  # RFC 9112 5.2: we reject rather than unfold
    if "\n" in bad or "\r" in bad:
        return "bare CR or LF in header fields"
    if name != name.rstrip(" \t"):
        return "whitespace between a header name and its colon"  # RFC 9112 5.1: MUST reject, 400
    token = ":" in bad and re.fullmatch(f"[{_TCHAR}]+", name)
    return "invalid character in a header value" if token else "malformed header line"


def _merge_repeats(fields: Headers, singles: tuple[str, ...], status: int) -> dict[str, str]:
    """Name -> value with repeated names joined by ", " (RFC 9110 5.3), except `singles`: they must not repeat."""
    collected: dict[str, list[str]] = {}
    for name, value in fields:
        collected.setdefault(name, []).append(value)
    for name in singles:
        if len(collected.get(name, ())) > 1:
            # RFC 9112 3.2: two Host lines -> 400. RFC 9112 6.3 lets a recipient accept repeated identical
            # Content-Length values; we refuse any repetition, as Lattice answers 400 to malformed requests.
            raise _Malformed(status, f"more than one {_TITLES[name]}")
    return {name: ", ".join(values) for name, values in collected.items()}


def _content_length(value: str, status: int) -> int:
    # RFC 9110 8.6: 1*DIGIT. No sign, no list ("5, 5"), no Unicode digits, and nothing past 2**63 - 1.
    if not (value.isascii() and value.isdigit() and len(value) <= 19 and int(value) < 2**63):
        raise _Malformed(status, "invalid Content-Length")
    return int(value)


def _transfer_codings(value: str, status: int) -> list[str]:
    codings = [coding for part in value.split(",") if (coding := part.strip(" \t"))]  # RFC 9110 5.6.1
    if not codings or not all(_TRANSFER_CODING.fullmatch(coding) for coding in codings):
        raise _Malformed(status, "malformed Transfer-Encoding")
    return [coding.lower() for coding in codings]  # "chunked;x=1" names no coding we know: not chunked


def _request_framing(index: dict[str, str], version: str) -> tuple[Framing, int | None]:
    te, cl = index.get("transfer-encoding"), index.get("content-length")
    if te is None:
        return (Framing.NONE, None) if cl is None else (Framing.LENGTH, _content_length(cl, 400))
    if cl is not None:
        raise _Malformed(400, "Content-Length with Transfer-Encoding")  # RFC 9112 6.3: reject, never guess
    if version == "HTTP/1.0":
        raise _Malformed(400, "Transfer-Encoding in an HTTP/1.0 request")  # RFC 9112 6.1: faulty framing
    codings = _transfer_codings(te, 400)
    # RFC 9112 6.3: chunked not final in a request -> 400; 6.1: chunked is applied at most once.
    if codings[-1] != "chunked" or "chunked" in codings[:-1]:
        raise _Malformed(400, "chunked is not the final transfer coding")
    if len(codings) > 1:
        raise _Malformed(501, f"unsupported transfer coding {codings[0]!r}")  # RFC 9112 6.1: SHOULD 501
    return Framing.CHUNKED, None


@functools.lru_cache(maxsize=256)
def _persists(version: str, connection: str | None) -> bool:
    """RFC 9112 9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive`."""
    if connection is None:
        return version == "HTTP/1.1"
    tokens = {token.strip(" \t").lower() for token in connection.split(",")}
    return "close" not in tokens and (version == "HTTP/1.1" or "keep-alive" in tokens)


@functools.lru_cache(maxsize=4096)
def _valid_host(value: str) -> bool:
    # RFC 9112 3.2: Host = uri-host [ ":" port ]; empty is allowed (a target URI without authority).
    return _HOST_FIELD.fullmatch(value) is not None


def _check_target(method: str, target: str) -> None:
    # RFC 9112 3.2: origin-form; absolute-form (http/https); authority-form only for CONNECT; "*" only OPTIONS.
    if method == "CONNECT":
        authority = _AUTHORITY_FORM.fullmatch(target)
        ok = authority is not None and authority[1] != "" and int(authority[2]) <= 65535
    elif target[0] == "/":
        ok = _ORIGIN_FORM.fullmatch(target) is not None
    elif target == "*":
        ok = method == "OPTIONS"
    else:
        # RFC 9110 4.2.1: an http(s) URI with an empty host is invalid; 4.2.4: userinfo is treated as an error.
        absolute = _ABSOLUTE_FORM.fullmatch(target)
        ok = absolute is not None and absolute[1] != ""
    if not ok:
        raise _Malformed(400, "invalid request target")


def _parse_request_line(line: str) -> tuple[str, str, str]:
    """Method, target and version of a request line (without its CRLF), all checked."""
    parts = _REQUEST_LINE.fullmatch(line)
    if parts is None:
        raise _Malformed(400, "malformed request line")
    method, target, version = parts.group(1, 2, 3)
    parsed = method, target, version
    if version not in _VERSIONS:
        raise _Malformed(505, f"{version} is not supported")
    if target[0] != "/" or method == "CONNECT" or _ORIGIN_FORM.fullmatch(target) is None:
        _check_target(method, target)  # other forms, and the error path
    if len(line) <= _MAX_KNOWN_LINE:
        _remember(_KNOWN_REQUEST_LINES, line, parsed)
    return parsed


def _parse_request_head(text: str, max_fields: int = MAX_HEADERS) -> RequestStarted:
    """A request head (request line and field lines, each ending CRLF, no blank line) to its event."""
    line_end = text.index("\r\n")
    known = _KNOWN_REQUEST_LINES.get(text[:line_end])
    method, target, version = known if known is not None else _parse_request_line(text[:line_end])
    fields = _parse_fields(text, line_end + 2, max_fields)
    index = dict(fields)
    if len(index) != len(fields):
        index = _merge_repeats(fields, ("host", "content-length"), 400)
    host = index.get("host")
    # RFC 9112 3.2: 400 for an HTTP/1.1 request without Host, with two (see _merge_repeats) or an invalid one.
    if host is None and version == "HTTP/1.1":
        raise _Malformed(400, "missing Host")
    if host is not None and not _valid_host(host):
        raise _Malformed(400, "invalid Host")
    framing, length = (
        (Framing.NONE, None)
        if "transfer-encoding" not in index and "content-length" not in index
        else _request_framing(index, version)
    )
    persists = _persists(version, index.get("connection"))
    return RequestStarted(method, target, version, fields, index, framing, length, persists)


def _response_framing(status: int, method: str, index: dict[str, str]) -> tuple[Framing, int | None]:
    # RFC 9112 6.3, in its order: HEAD, 1xx, 204, 304 and 2xx to CONNECT have no body.
    if method == "HEAD" or status in (204, 304) or (method == "CONNECT" and 200 <= status < 300):
        return Framing.NONE, None
    te, cl = index.get("transfer-encoding"), index.get("content-length")
    if te is None:
        return (Framing.CLOSE, None) if cl is None else (Framing.LENGTH, _content_length(cl, 502))
    if cl is not None:
        raise _Malformed(502, "upstream sent Content-Length with Transfer-Encoding")  # 6.3: a smuggling sign
    codings = _transfer_codings(te, 502)
    if codings == ["chunked"]:
        return Framing.CHUNKED, None
    if "chunked" in codings:
        raise _Malformed(502, "upstream combined chunked with other transfer codings")
    return Framing.CLOSE, None  # 6.3 item 4: chunked is not final -> the body runs until close


def _parse_status_line(line: str) -> tuple[str, int, str]:
    """Version, status and reason of an upstream status line (without its CRLF), all checked."""
    parts = _STATUS_LINE.fullmatch(line)
    if parts is None:
        raise _Malformed(502, "malformed upstream status line")
    parsed = version, _, _ = parts[1], int(parts[2]), parts[3] or ""
    if version not in _VERSIONS:
        raise _Malformed(502, f"upstream answered {version}")
    if len(line) <= _MAX_KNOWN_LINE:
        _remember(_KNOWN_STATUS_LINES, line, parsed)
    return parsed


def _parse_response_head(text: str, method: str, max_fields: int = MAX_HEADERS) -> ResponseStarted | InterimResponse:
    """A response head (status line and field lines, each ending CRLF) to its event; raises _Malformed(502)."""
    line_end = text.index("\r\n")
    known = _KNOWN_STATUS_LINES.get(text[:line_end])
    version, status, reason = known if known is not None else _parse_status_line(text[:line_end])
    fields = _parse_fields(text, line_end + 2, max_fields, 502)
    if status < 200:
        if status == 101:
            raise _Malformed(502, "upstream switched protocols (upgrades are not supported)")
        return InterimResponse(status, reason, fields)
    index = dict(fields)
    if len(index) != len(fields):
        index = _merge_repeats(fields, ("content-length",), 502)
    framing, length = _response_framing(status, method, index)
    persists = framing is not Framing.CLOSE and _persists(version, index.get("connection"))
    return ResponseStarted(status, reason, version, fields, framing, length, persists)


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
                _remember(_KNOWN_REQUEST_HEADS, text, started)
        events.append(started)
        self._keep_alive = started.keep_alive
        if started.framing is Framing.NONE:  # the common GET: ended here, without the framing dispatch
            self._end_message(events)
        else:
            self._start_body(started.framing, started.content_length, events)

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
                _remember(known, text, head)
        events.append(head)
        if isinstance(head, ResponseStarted):
            self._keep_alive = head.keep_alive
            self._start_body(head.framing, head.content_length, events)

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
    lines = [start_line]
    for name, value in headers:  # a plain loop and one join: measured 25% cheaper than a join of f-strings
        lines.append(f"{name}: {value}")
    lines.append("\r\n")  # joined with CRLF: the last field's CRLF, then the blank line
    text = "\r\n".join(lines)
    # Every CR and LF must be one of ours: a value carrying one would split the head (request/response splitting).
    if text.count("\n") != len(lines) or text.count("\r") != len(lines):
        raise ValueError("CR or LF inside a start line or header field")
    return text.encode("latin-1")


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
