"""The relay: one client connection on a VPC's ingress, request after request.

Reads requests with the strict sans-IO reader (`http1`), asks the decision core (`decide`) what to do, and
either answers itself (404 Non Existent Service, fixed responses, 400 for malformed requests) or forwards to a
target over a pooled keep-alive connection, streaming bodies both ways. Understands the three ways a client
reaches a service through the ingress: absolute-form proxy requests (`GET http://host/path`), CONNECT tunnels
(then TLS terminated here with the service's certificate, then HTTP inside), and direct requests with a Host
header. Every finished request becomes one access log record. This module and `upstream` are the only I/O of
the request path.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from itertools import count
from typing import Any
from urllib.parse import urlsplit

from latticework.dataplane import http1
from latticework.dataplane.accesslog import Exchange
from latticework.dataplane.decide import FixedReply, Forwarding, Refusal, RequestHead, decide, upstream_headers
from latticework.dataplane.snapshot import Snapshot, TargetGroupView, TargetView, VpcView
from latticework.dataplane.upstream import Connection, UpstreamPool

__all__ = ["Relay", "Trace", "TraceRecorder"]

log = logging.getLogger(__name__)

# RFC 9110 7.6.1: hop-by-hop fields are not forwarded.
_HOP_BY_HOP = frozenset(
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
_MAX_CONNECTION_SECONDS = 600  # Lattice quota "Maximum connection lifetime": 10 minutes
_READ_SIZE = 65536

TraceRecorder = Callable[["Trace"], None]


@dataclass(slots=True)
class Trace:
    """What happened to one request, filled in as it goes; `finished()` is its access log `Exchange`."""

    start: float
    vpc: VpcView | None
    source: tuple[str, int]
    method: str = "-"
    target: str = "-"
    host: str = "-"
    user_agent: str = "-"
    scheme: str = "http"
    status: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0
    request_id: str = ""
    failure_reason: str | None = None
    decision: Any = None
    target_address: str | None = None
    sent_to_target: float | None = None
    response_started: float | None = None
    end: float = 0.0
    sni: str | None = None
    tls_version: str | None = None
    tls_cipher: str | None = None

    def finished(self) -> Exchange:
        decision = self.decision
        service = getattr(decision, "service", None)
        forwarding = decision if isinstance(decision, Forwarding) else None
        return Exchange(
            start=self.start,
            end=self.end,
            request_sent_to_target=self.sent_to_target,
            response_started=self.response_started,
            source_ip=self.source[0],
            source_port=self.source[1],
            vpc=self.vpc,
            service=service,
            network_arn=forwarding.network_arn if forwarding else None,
            target_group_arn=forwarding.target_group.arn if forwarding else None,
            target_address=self.target_address,
            method=self.method,
            path=self.target,
            host_header=self.host,
            user_agent=self.user_agent,
            sni=self.sni,
            tls_version=self.tls_version,
            tls_cipher=self.tls_cipher,
            status=self.status,
            bytes_received=self.bytes_received,
            bytes_sent=self.bytes_sent,
            request_id=self.request_id,
            failure_reason=self.failure_reason,
        )


@dataclass(slots=True)
class _Flight:
    """One request on its way to a target: what the client sent, what the core saw, the trace it fills."""

    started: http1.RequestStarted
    head: RequestHead
    pending: list[http1.Event]
    trace: Trace


class _BodyRejected(Exception):
    """The client's body broke HTTP/1.1 framing after the request was already on its way."""

    def __init__(self, event: http1.Rejected) -> None:
        super().__init__(event.reason)
        self.event = event


def _is_absolute(target: str) -> bool:
    # RFC 3986 3.1: the scheme is case-insensitive.
    return target[:8].lower().startswith(("http://", "https://"))


class _TargetProtocolError(Exception):
    """The target's answer broke HTTP/1.1 (Lattice failureReason TargetProtocolError)."""


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class Relay:
    """Shared by every connection of a data-plane worker: the current snapshot, health, pool, and log hook."""

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        healthy: Callable[[TargetGroupView], frozenset[str]],
        address_of: Callable[[TargetGroupView, TargetView], tuple[str, int] | None],
        record: TraceRecorder,
        tls_context_for_connect: Callable[[], Any] | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.healthy = healthy
        self.address_of = address_of
        self.record = record
        self.tls_context = tls_context_for_connect
        self.pool = UpstreamPool()
        self._random = random.Random()
        self._counters: dict[str, count[int]] = {}
        self._clients: set[asyncio.StreamWriter] = set()

    def _next(self, group_id: str) -> int:
        counter = self._counters.get(group_id)
        if counter is None:
            counter = self._counters[group_id] = count()
        return next(counter)

    async def serve(self, vpc_id: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client connection until it closes, errs, idles out or reaches its lifetime."""
        connection = _ClientConnection(self, vpc_id, reader, writer)
        self._clients.add(writer)
        try:
            await connection.run()
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except Exception:
            log.exception("relay error on a connection from VPC %s", vpc_id)
        finally:
            self._clients.discard(writer)
            writer.close()

    def close(self) -> None:
        """Close every client connection (shutdown): idle keep-alive connections would otherwise linger until
        their idle timeout."""
        for writer in list(self._clients):
            writer.close()
        self.pool.close()


class _ClientConnection:
    def __init__(self, relay: Relay, vpc_id: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.relay = relay
        self.vpc_id = vpc_id
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("-", 0)
        self.source = (str(peer[0]), int(peer[1]))
        self.scheme = "http"
        self.tunnel_port: int | None = None
        self.opened = time.monotonic()
        self.requests = http1.RequestReader()
        # Lattice's default idle timeout; a request to a service switches to that service's idleTimeoutSeconds.
        self.idle_timeout = 60.0
        self.keep_alive = True  # whether the connection may carry another request after the current one

    # -- the read loop ----------------------------------------------------------------------------------------

    async def run(self) -> None:
        pending: list[http1.Event] = []
        while True:
            if not pending:
                data = await self._read_client()
                if not data:
                    return
                pending = self.requests.feed(data)
                continue
            event = pending.pop(0)
            if isinstance(event, http1.Rejected):
                await self._reject(event)
                return
            if isinstance(event, http1.RequestStarted):
                keep_open = await self._request(event, pending)
                if not keep_open:
                    return

    async def _read_client(self) -> bytes:
        lifetime_left = _MAX_CONNECTION_SECONDS - (time.monotonic() - self.opened)
        if lifetime_left <= 0:
            return b""
        # asyncio.timeout, not wait_for: no extra task per read on the hot path.
        async with asyncio.timeout(min(self.idle_timeout, lifetime_left)):
            return await self.reader.read(_READ_SIZE)

    async def _body_events(self, pending: list[http1.Event]) -> Any:
        """Yield the current request's body events (BodyData, then MessageEnded), reading more as needed."""
        while True:
            while pending:
                event = pending.pop(0)
                if isinstance(event, http1.Rejected):
                    # A broken chunk shows only mid-body: nothing more of this request may reach the target.
                    raise _BodyRejected(event)
                yield event
                if isinstance(event, http1.MessageEnded):
                    return
            data = await self._read_client()
            if not data:
                raise ConnectionError("client closed mid-request")
            pending.extend(self.requests.feed(data))

    # -- one request --------------------------------------------------------------------------------------

    async def _request(self, started: http1.RequestStarted, pending: list[http1.Event]) -> bool:
        exchange = Trace(start=time.time(), vpc=self._vpc(), source=self.source, request_id=str(uuid.uuid4()))
        self.keep_alive = started.keep_alive
        headers = started.header_map
        absolute = _is_absolute(started.target)
        # requestPath is the path and query as the target sees them, whatever form the client used.
        exchange.method, exchange.target = started.method, _origin_form(started.target) if absolute else started.target
        exchange.user_agent = headers.get("user-agent", "-")
        exchange.scheme = self.scheme
        if started.method == "CONNECT":
            return await self._connect(started, exchange)
        head = self._head(started, headers)
        exchange.host = head.host
        snapshot = self.relay.snapshot()
        vpc = exchange.vpc
        decision = decide(snapshot, vpc, head, self.relay.healthy, self.relay._random.random(), self.relay._next)
        exchange.decision = decision
        if decision.service is not None:
            self.idle_timeout = float(decision.service.idle_timeout)
        try:
            if isinstance(decision, Forwarding) and vpc is not None:
                keep = await self._forward(decision, vpc, _Flight(started, head, pending, exchange))
            else:
                await self._drain_body(pending, exchange)
                keep = await self._answer_locally(decision, exchange) and self.keep_alive
        except _BodyRejected as rejected:
            exchange.failure_reason = "ClientProtocolError"
            if exchange.response_started is None:
                await self._send_simple(rejected.event.status, rejected.event.reason, exchange, close=True)
            keep = False
        finally:
            exchange.end = time.time()
            self.relay.record(exchange)
        return keep

    def _vpc(self) -> VpcView | None:
        return self.relay.snapshot().vpcs.get(self.vpc_id)

    def _head(self, started: http1.RequestStarted, headers: Mapping[str, str]) -> RequestHead:
        target = started.target
        if _is_absolute(target):
            # Absolute-form: a proxy request (RFC 9112 3.2.2); the URI's authority wins over Host.
            parts = urlsplit(target)
            host, port = (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)
            path, query = parts.path or "/", parts.query
        else:
            host, port = _host_and_port(headers.get("host", ""), 443 if self.scheme == "https" else 80)
            path, _, query = target.partition("?")
            if self.tunnel_port is not None:
                port = self.tunnel_port
        return RequestHead(started.method, path, host, port, self.scheme, headers, query, tuple(started.headers))

    async def _drain_body(self, pending: list[http1.Event], exchange: Trace) -> None:
        async for event in self._body_events(pending):
            if isinstance(event, http1.BodyData):
                exchange.bytes_received += len(event.data)

    async def _answer_locally(self, decision: Any, exchange: Trace) -> bool:
        if isinstance(decision, FixedReply):
            status, text = decision.status, ""
        elif isinstance(decision, Refusal):
            status, text = decision.status, decision.message
            exchange.failure_reason = decision.failure_reason
        else:
            status, text = 500, "Internal error"
            exchange.failure_reason = "InternalError"
        await self._send_simple(status, text, exchange)
        return True

    async def _send_simple(self, status: int, text: str, exchange: Trace, close: bool = False) -> None:
        body = text.encode()
        headers = [
            ("content-type", "text/plain; charset=utf-8"),
            ("content-length", str(len(body))),
            ("x-amzn-requestid", exchange.request_id),
        ]
        if close:
            headers.append(("connection", "close"))
        data = http1.encode_response_head(status, _reason(status), headers) + body
        exchange.status, exchange.bytes_sent = status, len(data)
        self.writer.write(data)
        await self.writer.drain()

    async def _reject(self, rejected: http1.Rejected) -> None:
        exchange = Trace(start=time.time(), vpc=self._vpc(), source=self.source, request_id=str(uuid.uuid4()))
        exchange.failure_reason = "ClientProtocolError"
        try:
            await self._send_simple(rejected.status, rejected.reason, exchange, close=True)
        finally:
            exchange.end = time.time()
            self.relay.record(exchange)

    # -- CONNECT: a tunnel we terminate ------------------------------------------------------------------

    async def _connect(self, started: http1.RequestStarted, exchange: Trace) -> bool:
        host, port = _host_and_port(started.target, 443)
        context = self.relay.tls_context() if self.relay.tls_context else None
        if context is None or self.scheme == "https":
            await self._send_simple(405 if context is None else 400, "CONNECT is not available here", exchange)
            return False
        self.writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await self.writer.drain()
        await self.writer.start_tls(context)
        self.scheme, self.tunnel_port = "https", port
        exchange.host = host
        self.requests = http1.RequestReader()
        return True

    # -- forwarding -----------------------------------------------------------------------------------------

    async def _forward(self, forwarding: Forwarding, vpc: VpcView, flight: _Flight) -> bool:
        address = self.relay.address_of(forwarding.target_group, forwarding.target)
        if address is None:
            return await self._fail_before_target(flight, "Target has no address")
        flight.trace.target_address = f"{address[0]}:{address[1]}"
        tls = forwarding.target_group.protocol == "HTTPS"
        try:
            upstream = await self.relay.pool.acquire(address[0], address[1], tls)
        except (OSError, TimeoutError):
            return await self._fail_before_target(flight, "Could not connect to the target")
        return await self._exchange_with(upstream, forwarding, vpc, flight)

    async def _fail_before_target(self, flight: _Flight, message: str) -> bool:
        await self._drain_body(flight.pending, flight.trace)
        flight.trace.failure_reason = "TargetConnectionError"
        await self._send_simple(500, message, flight.trace)
        return self.keep_alive

    async def _exchange_with(self, upstream: Connection, forwarding: Forwarding, vpc: VpcView, flight: _Flight) -> bool:
        trace = flight.trace
        reusable = False
        try:
            await self._send_request(upstream, forwarding, vpc, flight)
            reusable = await self._relay_response(upstream, flight.started.method, trace)
        except (ConnectionError, asyncio.IncompleteReadError, _TargetProtocolError) as failure:
            trace.failure_reason = (
                "TargetProtocolError" if isinstance(failure, _TargetProtocolError) else "TargetConnectionClosed"
            )
            if trace.response_started is None:
                await self._send_simple(502, "The target closed the connection or sent a malformed response", trace)
                return self.keep_alive
            return False
        except TimeoutError:
            trace.failure_reason = "TargetDataTimeout"
            if trace.response_started is None:
                await self._send_simple(504, "The target did not answer in time", trace)
                return self.keep_alive
            return False
        finally:
            self.relay.pool.release(upstream, reusable)
        return self.keep_alive

    async def _send_request(self, upstream: Connection, forwarding: Forwarding, vpc: VpcView, flight: _Flight) -> None:
        started, trace = flight.started, flight.trace
        headers = [
            (name, value)
            for name, value in upstream_headers(flight.head, forwarding, vpc, self.source[0], trace.request_id)
            if name not in _HOP_BY_HOP
        ]
        chunked = started.framing is http1.Framing.CHUNKED
        if chunked:
            headers.append(("transfer-encoding", "chunked"))
        elif started.content_length is not None:
            headers.append(("content-length", str(started.content_length)))
        target = _origin_form(started.target) if _is_absolute(started.target) else started.target
        upstream.writer.write(http1.encode_request_head(started.method, target, headers))
        async for event in self._body_events(flight.pending):
            if isinstance(event, http1.BodyData):
                trace.bytes_received += len(event.data)
                upstream.writer.write(http1.encode_chunk(event.data) if chunked else event.data)
                await upstream.writer.drain()
            elif isinstance(event, http1.MessageEnded) and chunked:
                upstream.writer.write(http1.END_CHUNK)
        await upstream.writer.drain()
        trace.sent_to_target = time.time()

    async def _relay_response(self, upstream: Connection, method: str, exchange: Trace) -> bool:
        """Stream the target's response to the client, one write per read from the target (a small response
        leaves in one write); True when the upstream connection can be reused."""
        responses = http1.ResponseReader(method)
        chunked_to_client = False
        while True:
            # A target silent for the service's idle timeout is a TargetDataTimeout (504).
            async with asyncio.timeout(self.idle_timeout):
                data = await upstream.reader.read(_READ_SIZE)
            out: list[bytes] = []
            ended = False
            for event in responses.feed(data) if data else responses.feed_eof():
                if isinstance(event, http1.Rejected):
                    raise _TargetProtocolError(event.reason)
                if isinstance(event, http1.ResponseStarted):
                    head, chunked_to_client = self._response_head(event, exchange)
                    out.append(head)
                elif isinstance(event, http1.BodyData):
                    out.append(http1.encode_chunk(event.data) if chunked_to_client else event.data)
                elif isinstance(event, http1.MessageEnded):
                    ended = True
                    if chunked_to_client:
                        out.append(http1.END_CHUNK)
                # InterimResponse (100 Continue and friends) is not relayed.
            if out:
                payload = b"".join(out)
                if exchange.response_started is None:
                    exchange.response_started = time.time()
                exchange.bytes_sent += len(payload)
                self.writer.write(payload)
                await self.writer.drain()
            if ended:
                return responses.keep_alive
            if not data:
                raise ConnectionError("target closed before the response ended")

    def _response_head(self, started: http1.ResponseStarted, exchange: Trace) -> tuple[bytes, bool]:
        """The head the client gets, and whether its body is re-chunked (the target's framing was not a length)."""
        exchange.status = started.status
        headers = [(n, v) for n, v in started.headers if n not in _HOP_BY_HOP and n != "x-amzn-requestid"]
        chunked = False
        if started.content_length is not None:
            headers.append(("content-length", str(started.content_length)))
        elif started.framing is not http1.Framing.NONE:
            headers.append(("transfer-encoding", "chunked"))
            chunked = True
        headers.append(("x-amzn-requestid", exchange.request_id))
        if not self.keep_alive:
            headers.append(("connection", "close"))
        reason = started.reason or _reason(started.status)
        return http1.encode_response_head(started.status, reason, headers), chunked


def _host_and_port(authority: str, default_port: int) -> tuple[str, int]:
    """`host`, `host:port` or `[v6]:port` -> (lower-case host, port)."""
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = authority.partition(":")
    return host.lower(), int(port) if port.isdigit() else default_port


def _origin_form(absolute: str) -> str:
    parts = urlsplit(absolute)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
