"""HTTP/1.1 heads per RFC 9112, for `http1`'s readers: the events a message turns into, the grammar of start
lines, field blocks and framing, and the caches of lines already validated. Pure: text in, an event or
`_Malformed` out; no buffering (that is the readers', in `http1`), no I/O, no clock.

The policy (what is refused, with which status) is in `http1`'s docstring.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from typing import NamedTuple

from latticework.dataplane._fastpath import remember

__all__ = [
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "BodyData",
    "Event",
    "Framing",
    "Headers",
    "InterimResponse",
    "MessageEnded",
    "Rejected",
    "RequestStarted",
    "ResponseStarted",
]

MAX_HEAD_BYTES = 60 * 1024
MAX_HEADERS = 100

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
_MAX_KNOWN_LINES = 4096
_MAX_KNOWN_LINE = 256
_KNOWN_FIELDS: dict[str, tuple[str, str]] = {}
_KNOWN_REQUEST_LINES: dict[str, tuple[str, str, str]] = {}
_KNOWN_STATUS_LINES: dict[str, tuple[str, int, str]] = {}


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
        remember(_KNOWN_REQUEST_LINES, line, parsed, _MAX_KNOWN_LINES)
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
        remember(_KNOWN_STATUS_LINES, line, parsed, _MAX_KNOWN_LINES)
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
