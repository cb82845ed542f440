"""The relay: client connections on a VPC's ingress, request after request, as asyncio Protocols.

Reads requests with the strict sans-IO reader (`http1`), asks the decision core (`decide`) what to do, and
either answers itself (404 Non Existent Service, fixed responses, 400 for malformed requests) or hands the
request to its forwarding half (`forwarding`: a pooled keep-alive connection to an IP/INSTANCE target with bodies
streamed both ways, or a function invocation for a LAMBDA target). Understands the three ways a client reaches a
service through the ingress: absolute-form proxy requests (`GET http://host/path`), CONNECT tunnels (then TLS
terminated here with the service's certificate, then HTTP inside), and direct requests with a Host header. Every
finished request becomes one `Trace` handed to the record hook (access logs).

Callbacks, not streams: bytes from the client go through the reader into a queue of events; one request is in
flight at a time (pipelined requests wait, with reading paused); everything produced by one read leaves in one
`transport.write`. Flow control both ways with pause_reading/resume_reading. Timeouts are one sweep per second
over all connections, not a timer per read. This module, `forwarding`, `lambda_target` and `upstream` are the
only I/O of the request path; never put decisions here (they belong to `decide`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from itertools import count
from typing import Any, Protocol
from urllib.parse import urlsplit

from latticework.dataplane import http1
from latticework.dataplane._fastpath import host_and_port, is_absolute, new_request_id, origin_form
from latticework.dataplane.decide import Decision, FixedReply, Forwarding, Refusal, RequestHead, decide
from latticework.dataplane.forwarding import AlbTargets, Flight, ForwardingConnection, Trace
from latticework.dataplane.lambda_target import LambdaTargets, NoFunctions
from latticework.dataplane.snapshot import Snapshot, TargetGroupView, TargetView, VpcView
from latticework.dataplane.upstream import UpstreamPool

__all__ = ["Relay", "Trace", "TraceRecorder"]

log = logging.getLogger(__name__)

_MAX_CONNECTION_SECONDS = 600  # Lattice quota "Maximum connection lifetime": 10 minutes
_SWEEP_SECONDS = 1.0  # timeouts are checked this often: they fire up to a second late
_TLS_HANDSHAKE_SECONDS = 10.0
_CONNECTION_ESTABLISHED = b"HTTP/1.1 200 Connection Established\r\n\r\n"

TraceRecorder = Callable[[Trace], None]
# ALBs on this relay (dataplane/alb/listeners): a request on a VPC's ingress for no Lattice service, offered to the
# internal ALBs of that VPC; True when an ALB took it.
IngressAlbs = Callable[["_ClientConnection", Flight, RequestHead], bool]


class Relay:
    """Shared by every connection of a data-plane worker: the current snapshot, health, pool, and log hook."""

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        healthy: Callable[[TargetGroupView], frozenset[str]],
        address_of: Callable[[TargetGroupView, TargetView], tuple[str, int] | None],
        record: TraceRecorder,
        tls_context_for_connect: Callable[[], Any] | None = None,
        functions: LambdaTargets | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.healthy = healthy
        self.address_of = address_of
        self.record = record
        self.tls_context = tls_context_for_connect
        self.pool = UpstreamPool()
        self.functions = functions or LambdaTargets(NoFunctions())  # LAMBDA target groups
        self.ingress_albs: IngressAlbs | None = None  # internal ALBs reached through a VPC's ingress
        self.alb_targets: AlbTargets | None = None  # Lattice ALB target groups (forwarding.AlbTargets)
        self.connections: ConnectionObserver | None = None  # connection metrics (console.metrics)
        self._random = random.Random()
        self._counters: dict[str, count[int]] = {}
        self._clients: set[_ClientConnection] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    def connection_for(self, vpc_id: str) -> asyncio.Protocol:
        """The protocol for one new client connection on the ingress of `vpc_id` (a `create_server` factory)."""
        return _ClientConnection(self, vpc_id)

    def decide(self, snapshot: Snapshot, vpc: VpcView | None, head: RequestHead) -> Decision:
        """The one call into the decision core."""
        return decide(snapshot, vpc, head, self.healthy, self._random.random(), self._next)

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
        self.functions.invoker.close()


class ConnectionObserver(Protocol):
    """Told about client connections by VPC and service network (ActiveConnectionCount and friends)."""

    def connection_opened(self, vpc_id: str, network_arn: str | None) -> None: ...

    def connection_closed(self, vpc_id: str, network_arn: str | None) -> None: ...

    def tls_failed(self, vpc_id: str, network_arn: str | None) -> None: ...


_UNSEEN = object()  # a connection's service network before the observer was first told


class _ClientConnection(ForwardingConnection):
    """The client side: requests read and queued, local answers, CONNECT tunnels, timeouts."""

    network: object = _UNSEEN  # str | None once seen

    # -- asyncio callbacks: the client ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("-", 0)
        self.source = (str(peer[0]), int(peer[1]))
        self.relay._joined(self)
        self._observed(lambda observer, vpc, network: observer.connection_opened(vpc, network))

    def data_received(self, data: bytes) -> None:
        self.last_read = time.monotonic()
        events = self.events
        started = self.requests.take_known(data) if self.flight is None and not events else None
        if started is not None:  # a repeated bodiless request in one read: the reader's events without the reader
            events.append(started)
            events.append(http1.ENDED)
        else:
            events.extend(self.requests.feed(data))
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
        if self.network is not _UNSEEN:
            self._observed(lambda observer, vpc, network: observer.connection_closed(vpc, network))
            self.network = _UNSEEN
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

    # -- one request ---------------------------------------------------------------------------------------

    def _begin(self, started: http1.RequestStarted) -> None:
        relay = self.relay
        snapshot = relay.snapshot()  # the one config this request is decided on, start to end
        vpc = snapshot.vpcs.get(self.vpc_id)
        target = started.target
        absolute = is_absolute(target)
        version, cipher = self.tls
        # requestPath is the path and query as the target sees them, whatever form the client used.
        trace = Trace(time.time(), vpc, self.source, started.method, origin_form(target) if absolute else target,
                      "-", started.header_map.get("user-agent", "-"), self.scheme, request_id=new_request_id(),
                      tls_version=version, tls_cipher=cipher)  # fmt: skip
        self.keep_alive = started.keep_alive
        flight = self.flight = Flight(started, trace)
        if started.method == "CONNECT":
            self._connect(flight)
            return
        head = self._head(started, absolute, trace.start)
        trace.host = head.host
        decision = trace.decision = relay.decide(snapshot, vpc, head)
        service = decision.service
        if service is not None:
            self.idle_timeout = float(service.idle_timeout)
        if type(decision) is Forwarding and vpc is not None:
            self._forward(flight, decision, vpc, head)
            return
        albs = relay.ingress_albs
        if type(decision) is Refusal and service is None and albs is not None and albs(self, flight, head):
            return
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
        return RequestHead(started.method, path, host, port, self.scheme, started.header_map, query, started.headers,
                           self.source[0], received_at)  # fmt: skip

    def _local_answer(self, decision: Decision, trace: Trace) -> tuple[int, str]:
        if isinstance(decision, FixedReply):
            return decision.status, ""
        if isinstance(decision, Refusal):
            trace.failure_reason = decision.failure_reason
            return decision.status, decision.message
        trace.failure_reason = "InternalError"
        return 500, "Internal error"

    def _body(self, flight: Flight, event: http1.Event) -> None:
        kind = type(event)
        if kind is http1.BodyData:
            data: bytes = event.data  # type: ignore[union-attr]
            flight.trace.bytes_received += len(data)
            if flight.upstream is not None:
                flight.out.append(http1.encode_chunk(data) if flight.chunked else data)
            elif flight.body is not None:
                self._function_body(flight, data)
        elif kind is http1.MessageEnded:
            self._request_ended(flight)
        elif kind is http1.Rejected:
            self._body_rejected(flight, event)  # type: ignore[arg-type]

    def _request_ended(self, flight: Flight) -> None:
        flight.request_done = True
        if flight.answer is not None:
            status, text = flight.answer
            if not flight.responded:
                self._send_simple(status, text, flight)
            self._finish(flight)
        elif flight.call is not None:
            self._invoke_function(flight)
        elif flight.upstream is not None:
            if flight.chunked:
                flight.out.append(http1.END_CHUNK)
            self._flush(flight)
            flight.trace.sent_to_target = time.time()
            flight.upstream_since = time.monotonic()
        elif flight.response_done:  # the target answered before the request's body was all read
            self._finish(flight)

    def _body_rejected(self, flight: Flight, rejected: http1.Rejected) -> None:
        """A broken chunk shows only mid-body: nothing more of this request may reach the target."""
        flight.trace.failure_reason = "ClientProtocolError"
        self._drop_upstream(flight, reusable=False)
        if not flight.responded:
            self._send_simple(rejected.status, rejected.reason, flight, close=True)
        self.keep_alive = False
        self._finish(flight)

    def _reject(self, rejected: http1.Rejected) -> None:
        trace = Trace(start=time.time(), vpc=self._vpc(), source=self.source, request_id=new_request_id())
        trace.failure_reason = "ClientProtocolError"
        flight = Flight(http1.RequestStarted("-", "-", "HTTP/1.1", (), {}, http1.Framing.NONE, None, False), trace)
        self.keep_alive = False
        self._send_simple(rejected.status, rejected.reason, flight, close=True)
        self._finish(flight)

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

    def _connect(self, flight: Flight) -> None:
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

    async def _start_tls(self, flight: Flight, context: Any, port: int) -> None:
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
            self._observed(lambda observer, vpc, network: observer.tls_failed(vpc, network))
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

    def _observed(self, tell: Callable[[ConnectionObserver, str, str | None], None]) -> None:
        """Tell the connection observer, with the service network this connection's VPC reaches (fixed at
        connect time, so the open and the close are counted under the same labels)."""
        observer = self.relay.connections
        if observer is None:
            return
        if self.network is _UNSEEN:
            vpc = self.relay.snapshot().vpcs.get(self.vpc_id)
            self.network = vpc.network_arn if vpc else None
        tell(observer, self.vpc_id, self.network)  # type: ignore[arg-type]


def _absolute_parts(target: str) -> tuple[str, int, str, str]:
    """Host, port, path and query of an absolute-form target."""
    parts = urlsplit(target)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return (parts.hostname or "").lower(), port, parts.path or "/", parts.query
