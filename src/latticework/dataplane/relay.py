"""The relay: client connections on a VPC's ingress, request after request, as asyncio Protocols.

Reads requests with the strict sans-IO reader (`http1`), asks the decision core (`decide`) what to do, and
either answers itself (404 Non Existent Service, fixed responses, 400 for malformed requests) or forwards to a
target over a pooled keep-alive connection (`upstream`), streaming bodies both ways. Understands the three ways a
client reaches a service through the ingress: absolute-form proxy requests (`GET http://host/path`), CONNECT
tunnels (then TLS terminated here with the service's certificate, then HTTP inside), and direct requests with a
Host header. Every finished request becomes one `Trace` handed to the record hook (access logs).

Callbacks, not streams: bytes from the client go through the reader into a queue of events; one request is in
flight at a time (pipelined requests wait, with reading paused); everything produced by one read leaves in one
`transport.write`. Flow control both ways with pause_reading/resume_reading. Timeouts are one sweep per second
over all connections, not a timer per read. This module and `upstream` are the only I/O of the request path;
never put decisions here (they belong to `decide`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any
from urllib.parse import urlsplit

from latticework.dataplane import http1
from latticework.dataplane._fastpath import host_and_port, is_absolute, new_request_id, origin_form, reason_phrase
from latticework.dataplane.access import OPEN, Access, identity_tags
from latticework.dataplane.accesslog import Exchange
from latticework.dataplane.decide import (
    Decision,
    FixedReply,
    Forwarding,
    Refusal,
    RequestHead,
    decide,
    upstream_headers,
)
from latticework.dataplane.snapshot import Snapshot, TargetGroupView, TargetView, VpcView
from latticework.dataplane.upstream import Endpoint, UpstreamConnection, UpstreamPool

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
_SWEEP_SECONDS = 1.0  # timeouts are checked this often: they fire up to a second late
_TLS_HANDSHAKE_SECONDS = 10.0
_CONNECTION_ESTABLISHED = b"HTTP/1.1 200 Connection Established\r\n\r\n"

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
        access: Access = getattr(decision, "access", OPEN)
        principal = access.principal
        return Exchange(
            resolved_user=access.resolved_user,
            auth_denied_reason=access.denied_by,
            caller_principal=principal.arn if principal else None,
            caller_principal_tags=identity_tags(principal) if principal else None,
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


@dataclass(slots=True, eq=False)
class _Flight:
    """One request from its head to the end of its answer: what the client sent, where it goes, how far it got."""

    started: http1.RequestStarted
    trace: Trace
    answer: tuple[int, str] | None = None  # answered locally once the request's body has been read
    upstream: UpstreamConnection | None = None
    responses: http1.ResponseReader | None = None
    head: bytes = b""  # the request head for the target
    out: list[bytes] = field(default_factory=list)  # bytes for the target, written once per client read
    chunked: bool = False  # the body goes to the target re-chunked
    response_chunked: bool = False  # the body goes to the client re-chunked
    waiting: bool = False  # for an upstream connection or a TLS handshake: the body waits in the queue
    request_done: bool = False
    response_done: bool = False
    responded: bool = False  # some response bytes went to the client
    upstream_since: float = 0.0  # monotonic time of the last sign of life from the target
    task: asyncio.Task[None] | None = None


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
        self._clients: set[_ClientConnection] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    def connection_for(self, vpc_id: str) -> asyncio.Protocol:
        """The protocol for one new client connection on the ingress of `vpc_id` (a `create_server` factory)."""
        return _ClientConnection(self, vpc_id)

    def decide(self, vpc: VpcView | None, head: RequestHead) -> Decision:
        """The one call into the decision core."""
        return decide(self.snapshot(), vpc, head, self.healthy, self._random.random(), self._next)

    def _next(self, group_id: str) -> int:
        counter = self._counters.get(group_id)
        if counter is None:
            counter = self._counters[group_id] = count()
        return next(counter)

    def _joined(self, client: _ClientConnection) -> None:
        self._clients.add(client)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(_SWEEP_SECONDS, self._sweep)

    def _sweep(self) -> None:
        now = time.monotonic()
        for client in list(self._clients):
            try:
                client.check_timeouts(now)
            except Exception:
                log.exception("relay error while checking timeouts")
        loop = asyncio.get_running_loop()
        self._sweeper = loop.call_later(_SWEEP_SECONDS, self._sweep) if self._clients else None

    def close(self) -> None:
        """Close every client connection (shutdown): idle keep-alive connections would otherwise linger until
        their idle timeout."""
        for client in list(self._clients):
            client.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self.pool.close()


class _ClientConnection(asyncio.Protocol):
    def __init__(self, relay: Relay, vpc_id: str) -> None:
        self.relay = relay
        self.vpc_id = vpc_id
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set by connection_made
        self.source = ("-", 0)
        self.scheme = "http"
        self.tunnel_port: int | None = None
        self.tls: tuple[str | None, str | None] = (None, None)  # TLS version and cipher inside a tunnel
        self.opened = self.last_read = time.monotonic()
        self.requests = http1.RequestReader()
        self.events: deque[http1.Event] = deque()
        self.flight: _Flight | None = None
        # Lattice's default idle timeout; a request to a service switches to that service's idleTimeoutSeconds.
        self.idle_timeout = 60.0
        self.keep_alive = True  # whether the connection may carry another request after the current one
        self.paused: set[str] = set()  # why reading the client is paused
        self.writing_paused = False  # the client is not reading: neither do we read the target
        self.closed = False

    # -- asyncio callbacks: the client ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("-", 0)
        self.source = (str(peer[0]), int(peer[1]))
        self.relay._joined(self)

    def data_received(self, data: bytes) -> None:
        self.last_read = time.monotonic()
        self.events.extend(self.requests.feed(data))
        self._pump()

    def eof_received(self) -> bool:
        if self.flight is None:
            return False  # between requests: the normal end (a partial head is dropped unanswered)
        self.keep_alive = False
        self.events.extend(self.requests.feed_eof())
        self._pump()
        return self.flight is not None  # keep our side open until the answer in flight is out

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.relay._clients.discard(self)
        flight, self.flight = self.flight, None
        if flight is not None:
            self._drop_upstream(flight, reusable=False)
            if not flight.response_done and flight.trace.failure_reason is None:
                flight.trace.failure_reason = "ClientConnectionClosed"
            self._record(flight.trace)

    def pause_writing(self) -> None:
        self.writing_paused = True
        if self.flight is not None and self.flight.upstream is not None:
            self.flight.upstream.pause_reading()

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.flight is not None and self.flight.upstream is not None:
            self.flight.upstream.resume_reading()

    # -- asyncio callbacks relayed by the target's connection (upstream.UpstreamOwner) ---------------------

    def upstream_data(self, data: bytes) -> None:
        flight = self.flight
        if flight is None or flight.responses is None:
            return
        flight.upstream_since = time.monotonic()
        out: list[bytes] = []
        ended = False
        for event in flight.responses.feed(data):
            kind = type(event)
            if kind is http1.BodyData:
                out.append(http1.encode_chunk(event.data) if flight.response_chunked else event.data)  # type: ignore[union-attr]
            elif kind is http1.ResponseStarted:
                out.append(self._response_head(event, flight))  # type: ignore[arg-type]
            elif kind is http1.MessageEnded:
                ended = True
                if flight.response_chunked:
                    out.append(http1.END_CHUNK)
            elif kind is http1.Rejected:
                self._target_failed(flight, "TargetProtocolError", 502)
                return
            # InterimResponse (100 Continue and friends) is not relayed.
        if out:
            self._respond(flight, out[0] if len(out) == 1 else b"".join(out))
        if ended:
            self._response_ended(flight)

    def upstream_closed(self) -> None:
        flight = self.flight
        if flight is None or flight.upstream is None or flight.responses is None:
            return
        flight.upstream = None
        self._resume("upstream")
        if flight.responses.feed_eof() == [http1.MessageEnded()]:  # the end of a close-delimited body
            if flight.response_chunked:
                self._respond(flight, http1.END_CHUNK)
            self._response_ended(flight)
        else:
            self._target_failed(flight, "TargetConnectionClosed", 502)

    def upstream_full(self) -> None:
        self._pause("upstream")

    def upstream_drained(self) -> None:
        self._resume("upstream")

    # -- the event queue -----------------------------------------------------------------------------------

    def _pump(self) -> None:
        """Handle queued events until a request must wait (for its target, or for the one before it)."""
        events = self.events
        while events and not self.closed:
            flight = self.flight
            if flight is None:
                event = events.popleft()
                if type(event) is http1.RequestStarted:
                    self._begin(event)
                elif type(event) is http1.Rejected:
                    self._reject(event)
            elif flight.request_done or flight.waiting:
                self._pause("queue")
                break
            else:
                self._body(flight, events.popleft())
        flight = self.flight
        if flight is not None and flight.out and flight.upstream is not None:
            self._flush(flight)

    def _pause(self, reason: str) -> None:
        if not self.paused and not self.transport.is_closing():
            self.transport.pause_reading()
        self.paused.add(reason)

    def _resume(self, reason: str) -> None:
        if reason in self.paused:
            self.paused.discard(reason)
            if not self.paused and not self.transport.is_closing():
                self.transport.resume_reading()

    # -- one request ---------------------------------------------------------------------------------------

    def _begin(self, started: http1.RequestStarted) -> None:
        trace = Trace(start=time.time(), vpc=self._vpc(), source=self.source, request_id=new_request_id())
        self.keep_alive = started.keep_alive
        absolute = is_absolute(started.target)
        # requestPath is the path and query as the target sees them, whatever form the client used.
        trace.method, trace.target = started.method, origin_form(started.target) if absolute else started.target
        trace.user_agent = started.header_map.get("user-agent", "-")
        trace.scheme = self.scheme
        trace.tls_version, trace.tls_cipher = self.tls
        flight = self.flight = _Flight(started, trace)
        if started.method == "CONNECT":
            self._connect(flight)
            return
        head = self._head(started, absolute, trace.start)
        trace.host = head.host
        decision = trace.decision = self.relay.decide(trace.vpc, head)
        if decision.service is not None:
            self.idle_timeout = float(decision.service.idle_timeout)
        if isinstance(decision, Forwarding) and trace.vpc is not None:
            self._forward(flight, decision, trace.vpc, head)
        else:
            flight.answer = self._local_answer(decision, trace)

    def _vpc(self) -> VpcView | None:
        return self.relay.snapshot().vpcs.get(self.vpc_id)

    def _head(self, started: http1.RequestStarted, absolute: bool, received_at: float) -> RequestHead:
        target = started.target
        if absolute:
            # Absolute-form: a proxy request (RFC 9112 3.2.2); the URI's authority wins over Host.
            host, port, path, query = _absolute_parts(target)
        else:
            host, port = host_and_port(started.header_map.get("host", ""), 443 if self.scheme == "https" else 80)
            path, _, query = target.partition("?")
            if self.tunnel_port is not None:
                port = self.tunnel_port
        return RequestHead(
            started.method,
            path,
            host,
            port,
            self.scheme,
            started.header_map,
            query,
            tuple(started.headers),
            source_ip=self.source[0],
            received_at=received_at,
        )

    def _local_answer(self, decision: Decision, trace: Trace) -> tuple[int, str]:
        if isinstance(decision, FixedReply):
            return decision.status, ""
        if isinstance(decision, Refusal):
            trace.failure_reason = decision.failure_reason
            return decision.status, decision.message
        trace.failure_reason = "InternalError"
        return 500, "Internal error"

    def _body(self, flight: _Flight, event: http1.Event) -> None:
        kind = type(event)
        if kind is http1.BodyData:
            data: bytes = event.data  # type: ignore[union-attr]
            flight.trace.bytes_received += len(data)
            if flight.upstream is not None:
                flight.out.append(http1.encode_chunk(data) if flight.chunked else data)
        elif kind is http1.MessageEnded:
            self._request_ended(flight)
        elif kind is http1.Rejected:
            self._body_rejected(flight, event)  # type: ignore[arg-type]

    def _request_ended(self, flight: _Flight) -> None:
        flight.request_done = True
        if flight.answer is not None:
            status, text = flight.answer
            if not flight.responded:
                self._send_simple(status, text, flight)
            self._finish(flight)
        elif flight.upstream is not None:
            if flight.chunked:
                flight.out.append(http1.END_CHUNK)
            self._flush(flight)
            flight.trace.sent_to_target = time.time()
            flight.upstream_since = time.monotonic()
        elif flight.response_done:  # the target answered before the request's body was all read
            self._finish(flight)

    def _body_rejected(self, flight: _Flight, rejected: http1.Rejected) -> None:
        """A broken chunk shows only mid-body: nothing more of this request may reach the target."""
        flight.trace.failure_reason = "ClientProtocolError"
        self._drop_upstream(flight, reusable=False)
        if not flight.responded:
            self._send_simple(rejected.status, rejected.reason, flight, close=True)
        self.keep_alive = False
        self._finish(flight)

    def _send_simple(self, status: int, text: str, flight: _Flight, close: bool = False) -> None:
        body = text.encode()
        headers = [
            ("content-type", "text/plain; charset=utf-8"),
            ("content-length", str(len(body))),
            ("x-amzn-requestid", flight.trace.request_id),
        ]
        if close or not self.keep_alive:
            headers.append(("connection", "close"))
        data = http1.encode_response_head(status, reason_phrase(status), headers) + body
        flight.trace.status, flight.trace.bytes_sent, flight.responded = status, len(data), True
        self.transport.write(data)

    def _reject(self, rejected: http1.Rejected) -> None:
        trace = Trace(start=time.time(), vpc=self._vpc(), source=self.source, request_id=new_request_id())
        trace.failure_reason = "ClientProtocolError"
        flight = _Flight(http1.RequestStarted("-", "-", "HTTP/1.1", (), {}, http1.Framing.NONE, None, False), trace)
        self.keep_alive = False
        self._send_simple(rejected.status, rejected.reason, flight, close=True)
        self._finish(flight)

    def _finish(self, flight: _Flight) -> None:
        if self.flight is flight:
            self.flight = None
        self._record(flight.trace)
        self.last_read = time.monotonic()
        if not self.keep_alive:
            self.close()
        else:
            self._resume("queue")

    def _record(self, trace: Trace) -> None:
        trace.end = time.time()
        try:
            self.relay.record(trace)
        except Exception:
            log.exception("access log record failed")

    def close(self) -> None:
        """Close after what is already written (transport.close flushes the write buffer)."""
        if not self.closed:
            self.closed = True
            self.transport.close()

    def check_timeouts(self, now: float) -> None:
        """Called once a second: a silent target (504), an idle client, or a connection past its lifetime."""
        flight = self.flight
        if flight is not None and flight.waiting:
            return  # connecting and TLS handshakes have their own timeouts
        if flight is not None and flight.request_done and not flight.response_done:
            if now - flight.upstream_since >= self.idle_timeout:
                self._target_failed(flight, "TargetDataTimeout", 504)
            return
        if now - self.opened >= _MAX_CONNECTION_SECONDS:
            self.keep_alive = False  # the exchange in flight, if any, is the last one
        if (flight is None and not self.keep_alive) or now - self.last_read >= self.idle_timeout:
            self.close()

    # -- CONNECT: a tunnel we terminate --------------------------------------------------------------------

    def _connect(self, flight: _Flight) -> None:
        host, port = host_and_port(flight.started.target, 443)
        flight.trace.host = host
        context = self.relay.tls_context() if self.relay.tls_context else None
        if context is None or self.scheme == "https":
            self.keep_alive = False
            flight.answer = (405 if context is None else 400, "CONNECT is not available here")
            return
        self.transport.write(_CONNECTION_ESTABLISHED)
        flight.trace.status, flight.trace.bytes_sent, flight.responded = 200, len(_CONNECTION_ESTABLISHED), True
        flight.waiting = True
        self._pause("tls")
        flight.task = asyncio.get_running_loop().create_task(self._start_tls(flight, context, port))

    async def _start_tls(self, flight: _Flight, context: Any, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                self.transport, self, context, server_side=True, ssl_handshake_timeout=_TLS_HANDSHAKE_SECONDS
            )
        except (OSError, TimeoutError, ConnectionError) as failure:
            log.debug("TLS handshake in a CONNECT tunnel failed: %s", failure)
            transport = None
        except Exception:
            log.exception("TLS handshake in a CONNECT tunnel failed")
            transport = None
        if self.flight is flight:
            self.flight = None
            self._record(flight.trace)
        if transport is None:
            self.closed = True
            self.relay._clients.discard(self)
            self.transport.close()
            return
        self.transport = transport
        ssl_object = transport.get_extra_info("ssl_object")
        cipher = ssl_object.cipher() if ssl_object is not None else None
        self.tls = (ssl_object.version() if ssl_object is not None else None, cipher[0] if cipher else None)
        self.scheme, self.tunnel_port = "https", port
        self.requests, self.paused, self.last_read = http1.RequestReader(), set(), time.monotonic()
        self.events.clear()

    # -- forwarding ----------------------------------------------------------------------------------------

    def _forward(self, flight: _Flight, forwarding: Forwarding, vpc: VpcView, head: RequestHead) -> None:
        address = self.relay.address_of(forwarding.target_group, forwarding.target)
        if address is None:
            flight.trace.failure_reason = "TargetConnectionError"
            flight.answer = (500, "Target has no address")
            return
        flight.trace.target_address = f"{address[0]}:{address[1]}"
        flight.head = self._request_head(flight, forwarding, vpc, head)
        flight.responses = http1.ResponseReader(flight.started.method)
        endpoint = (address[0], address[1], forwarding.target_group.protocol == "HTTPS")
        upstream = self.relay.pool.take(endpoint)
        if upstream is not None:
            self._attach(flight, upstream)
        else:
            flight.waiting = True
            flight.task = asyncio.get_running_loop().create_task(self._open_upstream(flight, endpoint))

    def _request_head(self, flight: _Flight, forwarding: Forwarding, vpc: VpcView, head: RequestHead) -> bytes:
        started, trace = flight.started, flight.trace
        headers = [
            (name, value)
            for name, value in upstream_headers(head, forwarding, vpc, self.source[0], trace.request_id)
            if name not in _HOP_BY_HOP
        ]
        if started.framing is http1.Framing.CHUNKED:
            headers.append(("transfer-encoding", "chunked"))
            flight.chunked = True
        elif started.content_length is not None:
            headers.append(("content-length", str(started.content_length)))
        return http1.encode_request_head(started.method, trace.target, headers)

    async def _open_upstream(self, flight: _Flight, endpoint: Endpoint) -> None:
        try:
            upstream = await self.relay.pool.open(endpoint)
        except (OSError, TimeoutError):
            if self.flight is flight:
                flight.trace.failure_reason = "TargetConnectionError"
                flight.answer = (500, "Could not connect to the target")
                self._unblock(flight)
            return
        if self.flight is not flight or self.closed:
            self.relay.pool.release(upstream, reusable=True)  # fresh and unused: someone else can have it
            return
        self._attach(flight, upstream)
        self._unblock(flight)

    def _unblock(self, flight: _Flight) -> None:
        flight.waiting = False
        self._resume("queue")
        try:
            self._pump()
        except Exception:
            log.exception("relay error on a connection from VPC %s", self.vpc_id)
            self.close()

    def _attach(self, flight: _Flight, upstream: UpstreamConnection) -> None:
        flight.upstream = upstream
        upstream.owner = self
        if self.writing_paused:
            upstream.pause_reading()
        flight.out.append(flight.head)
        flight.upstream_since = time.monotonic()

    def _flush(self, flight: _Flight) -> None:
        out = flight.out
        if flight.upstream is not None:
            flight.upstream.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()

    def _drop_upstream(self, flight: _Flight, reusable: bool) -> None:
        upstream, flight.upstream = flight.upstream, None
        if upstream is not None:
            self.relay.pool.release(upstream, reusable)
        self._resume("upstream")

    def _respond(self, flight: _Flight, payload: bytes) -> None:
        trace = flight.trace
        if trace.response_started is None:
            trace.response_started = time.time()
        trace.bytes_sent += len(payload)
        flight.responded = True
        self.transport.write(payload)

    def _response_ended(self, flight: _Flight) -> None:
        flight.response_done = True
        responses = flight.responses
        self._drop_upstream(flight, reusable=flight.request_done and responses is not None and responses.keep_alive)
        if flight.request_done:
            self._finish(flight)
            self._pump()
        # else: the target answered early; the rest of the request's body is read and dropped, then _finish.

    def _target_failed(self, flight: _Flight, reason: str, status: int) -> None:
        """502 TargetProtocolError / TargetConnectionClosed, 504 TargetDataTimeout; a response already under
        way cannot change its status, so the client connection is closed instead."""
        flight.trace.failure_reason = reason
        self._drop_upstream(flight, reusable=False)
        if flight.responded:
            self.keep_alive = False
            self._finish(flight)
            return
        message = (
            "The target did not answer in time"
            if status == 504
            else "The target closed the connection or sent a malformed response"
        )
        self._send_simple(status, message, flight)
        flight.response_done = True
        if flight.request_done:
            self._finish(flight)
            self._pump()

    def _response_head(self, started: http1.ResponseStarted, flight: _Flight) -> bytes:
        """The head the client gets; the body is re-chunked when the target's framing was not a length."""
        flight.trace.status = started.status
        headers = [(n, v) for n, v in started.headers if n not in _HOP_BY_HOP and n != "x-amzn-requestid"]
        if started.content_length is not None:
            headers.append(("content-length", str(started.content_length)))
        elif started.framing is not http1.Framing.NONE:
            headers.append(("transfer-encoding", "chunked"))
            flight.response_chunked = True
        headers.append(("x-amzn-requestid", flight.trace.request_id))
        if not self.keep_alive:
            headers.append(("connection", "close"))
        reason = started.reason or reason_phrase(started.status)
        return http1.encode_response_head(started.status, reason, headers)


def _absolute_parts(target: str) -> tuple[str, int, str, str]:
    """Host, port, path and query of an absolute-form target."""
    parts = urlsplit(target)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return (parts.hostname or "").lower(), port, parts.path or "/", parts.query
