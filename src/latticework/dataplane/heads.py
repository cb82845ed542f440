"""The heads the relay writes on a forwarded exchange: the request head an IP/INSTANCE target gets and the
response head the client gets back, assembled from pieces remembered between requests.

Which fields go where is `decide.upstream_headers`'s rule (the caller's fields minus hop-by-hop ones and any
Lattice sets, then Lattice's own) and RFC 9112's framing; this module only makes writing them cheap. Most of a
head repeats: the caller's fields on a keep-alive connection, the Lattice fields of one route (service,
network, target group, VPC, port), a target's answer within one second (only Date moves). So each piece is
text remembered by what determines it, and per request only the request ID, the caller's address and the
start line are formatted. Pure: no I/O, no clock. Every remembered piece comes from parsed fields (which the
reader refused if they held CR, LF or NUL) or from config; every piece is checked (`http1.field_lines`) once, when
it is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from latticework.dataplane import http1
from latticework.dataplane._fastpath import reason_phrase, remember
from latticework.dataplane.access import identity_headers
from latticework.dataplane.decide import Forwarding, RequestHead, forwardable, lattice_route_headers
from latticework.dataplane.snapshot import VpcView

__all__ = ["HOP_BY_HOP", "client_response_head", "target_request_head"]

# RFC 9110 7.6.1: hop-by-hop fields are not forwarded (content-length and transfer-encoding are re-framed).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "upgrade",
        "transfer-encoding",
        "content-length",
    }
)

_MAX_PIECES = 4096  # remembered pieces of each kind; a full memo starts over
_caller_fields: dict[http1.Headers, str] = {}
_route_fields: dict[tuple[str, ...], str] = {}
_answer_fields: dict[tuple[int, str, http1.Headers, http1.Framing, int | None], tuple[str, bool]] = {}


def target_request_head(
    started: http1.RequestStarted,
    target: str,
    head: RequestHead,
    forwarding: Forwarding,
    vpc: VpcView,
    client_ip: str,
    request_id: str,
) -> tuple[bytes, bool]:
    """The head for the target, and whether the body goes re-chunked (the caller's was chunked)."""
    caller = _caller_fields.get(started.headers)
    if caller is None:
        caller = remember(_caller_fields, started.headers, http1.field_lines(_kept(head.headers)), _MAX_PIECES)
    service, network, group = forwarding.service.arn, forwarding.network_arn, forwarding.target_group.arn
    key = (service, network, group, vpc.arn, vpc.id, str(head.port), head.scheme)
    route = _route_fields.get(key)
    if route is None:
        route = remember(
            _route_fields, key, http1.field_lines(lattice_route_headers(head, forwarding, vpc)), _MAX_PIECES
        )
    extra = http1.field_lines(identity_headers(forwarding.access)) if forwarding.access.principal else ""
    chunked = started.framing is http1.Framing.CHUNKED
    if chunked:
        extra += "transfer-encoding: chunked\r\n"
    elif started.content_length is not None:
        extra += f"content-length: {started.content_length}\r\n"
    text = (
        f"{started.method} {target} HTTP/1.1\r\n{caller}x-forwarded-for: {client_ip}\r\n{route}"
        f"x-amzn-requestid: {request_id}\r\n{extra}\r\n"
    )
    return text.encode("latin-1"), chunked


def client_response_head(
    started: http1.ResponseStarted,
    request_id: str,
    extra: Iterable[tuple[str, str]],
    keep_alive: bool,
) -> tuple[bytes, bool]:
    """The head the client gets for a target's answer, and whether the body goes re-chunked (the target's
    framing was not a length): the target's fields minus hop-by-hop ones and its own request ID, then ours."""
    key = (started.status, started.reason, started.headers, started.framing, started.content_length)
    known = _answer_fields.get(key)
    if known is None:
        known = remember(_answer_fields, key, _answer_prefix(started), _MAX_PIECES)
    prefix, chunked = known
    tail = http1.field_lines(extra) if extra else ""
    if not keep_alive:
        tail += "connection: close\r\n"
    return f"{prefix}x-amzn-requestid: {request_id}\r\n{tail}\r\n".encode("latin-1"), chunked


def _answer_prefix(started: http1.ResponseStarted) -> tuple[str, bool]:
    fields = [(n, v) for n, v in started.headers if n not in HOP_BY_HOP and n != "x-amzn-requestid"]
    chunked = False
    if started.content_length is not None:
        fields.append(("content-length", str(started.content_length)))
    elif started.framing is not http1.Framing.NONE:
        fields.append(("transfer-encoding", "chunked"))
        chunked = True
    reason = started.reason or reason_phrase(started.status)
    return http1.field_lines(fields, f"HTTP/1.1 {started.status} {reason}"), chunked


def _kept(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers.items() if forwardable(name) and name not in HOP_BY_HOP]
