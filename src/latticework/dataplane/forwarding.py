"""Forwarding: the part of a client connection that deals with where a request goes once the decision core said
Forwarding. For IP and INSTANCE targets, a pooled keep-alive upstream connection (`upstream`) with bodies streamed
both ways and the target's response re-framed for the client; for LAMBDA targets, the whole body read (6 MB at
most), the function invoked (`lambda_target`) and its answer written in one piece.

Also holds what every request carries along its way (`Trace`, the future access log record; `Flight`, one request
from its head to the end of its answer) and the connection primitives both halves use (pause/resume reading,
simple answers, finishing a request). `relay` subclasses `ForwardingConnection` with the client side: reading
requests, the event queue, local answers, CONNECT tunnels, timeouts. I/O module (asyncio); decisions belong to
`decide`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from latticework.dataplane import http1
from latticework.dataplane._fastpath import reason_phrase
from latticework.dataplane.access import OPEN, Access, identity_tags
from latticework.dataplane.accesslog import Exchange
from latticework.dataplane.decide import Forwarding, RequestHead
from latticework.dataplane.heads import HOP_BY_HOP, client_response_head, target_request_head
from latticework.dataplane.lambda_events import MAX_PAYLOAD, HttpResponse
from latticework.dataplane.lambda_target import FunctionCall, response_bytes, too_large
from latticework.dataplane.snapshot import VpcView
from latticework.dataplane.upstream import Endpoint, UpstreamConnection

if TYPE_CHECKING:
    from latticework.dataplane.relay import Relay

__all__ = ["HOP_BY_HOP", "AlbTargets", "Flight", "ForwardingConnection", "Trace"]

log = logging.getLogger(__name__)


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
    alb: Any = None  # an `alb.accesslog.AlbHop` when an ALB with an access log handled the request

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
class Flight:
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
    call: FunctionCall | None = None  # a LAMBDA target: the request, its body still to come
    body: list[bytes] | None = None  # a LAMBDA target: the body read so far
    extra_response_headers: tuple[tuple[str, str], ...] = ()  # added to the target's answer (ALB stickiness)
    # Another target for a request whose target refused the connection (nothing was sent): True when it took the
    # flight over. Set by the ALB router (dataplane/alb/listeners.py); used once.
    reroute: Callable[[], bool] | None = None


# Lattice ALB target groups: the ALB's decision core runs on this same flight (dataplane/alb/listeners).
AlbTargets = Callable[["ForwardingConnection", Flight, Forwarding, VpcView, RequestHead], None]


class ForwardingConnection(asyncio.Protocol):
    """A client connection's state and its forwarding half; `relay._ClientConnection` adds the client side."""

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
        self.flight: Flight | None = None
        # Lattice's default idle timeout; a request to a service switches to that service's idleTimeoutSeconds.
        self.idle_timeout = 60.0
        self.keep_alive = True  # whether the connection may carry another request after the current one
        self.paused: set[str] = set()  # why reading the client is paused
        self.writing_paused = False  # the client is not reading: neither do we read the target
        self.closed = False

    def _pump(self) -> None:
        """Handle queued events (the client side's event loop, in `relay`)."""
        raise NotImplementedError

    # -- asyncio callbacks relayed by the target's connection (upstream.UpstreamOwner) ---------------------

    def upstream_data(self, data: bytes) -> None:
        flight = self.flight
        if flight is None or flight.responses is None:
            return
        flight.upstream_since = time.monotonic()
        whole = flight.responses.take_known(data)
        if whole is not None:  # a whole answer in one read, its head known: the events `feed` would give
            started, body = whole
            head = self._response_head(started, flight)
            self._respond(flight, head + body if body else head)
            self._response_ended(flight)
            return
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

    # -- primitives both halves use ------------------------------------------------------------------------

    def _pause(self, reason: str) -> None:
        if not self.paused and not self.transport.is_closing():
            self.transport.pause_reading()
        self.paused.add(reason)

    def _resume(self, reason: str) -> None:
        if reason in self.paused:
            self.paused.discard(reason)
            if not self.paused and not self.transport.is_closing():
                self.transport.resume_reading()

    def _send_simple(self, status: int, text: str, flight: Flight, close: bool = False) -> None:
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

    def _finish(self, flight: Flight) -> None:
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

    # -- forwarding ----------------------------------------------------------------------------------------

    def _forward(self, flight: Flight, forwarding: Forwarding, vpc: VpcView, head: RequestHead) -> None:
        if forwarding.target_group.type == "LAMBDA":
            self._forward_to_function(flight, forwarding, vpc, head)
            return
        if forwarding.target_group.type == "ALB" and self.relay.alb_targets is not None:
            self.relay.alb_targets(self, flight, forwarding, vpc, head)
            return
        address = self.relay.address_of(forwarding.target_group, forwarding.target)
        if address is None:
            flight.trace.failure_reason = "TargetConnectionError"
            flight.answer = (500, "Target has no address")
            return
        flight.head = self._request_head(flight, forwarding, vpc, head)
        self.send_upstream(flight, address, https=forwarding.target_group.protocol == "HTTPS")

    def send_upstream(self, flight: Flight, address: tuple[str, int], https: bool) -> None:
        """Send the flight's request head (already built) to the target at `address`: on an idle pooled connection
        when there is one, else on one opened now. Lattice's forwarding and the ALB's both end here."""
        flight.trace.target_address = f"{address[0]}:{address[1]}"
        flight.responses = http1.ResponseReader(flight.started.method)
        endpoint = (address[0], address[1], https)
        upstream = self.relay.pool.take(endpoint)
        if upstream is not None:
            self._attach(flight, upstream)
        else:
            flight.waiting = True
            flight.task = asyncio.get_running_loop().create_task(self._open_upstream(flight, endpoint))

    def _request_head(self, flight: Flight, forwarding: Forwarding, vpc: VpcView, head: RequestHead) -> bytes:
        trace = flight.trace
        data, flight.chunked = target_request_head(
            flight.started, trace.target, head, forwarding, vpc, self.source[0], trace.request_id
        )
        return data

    async def _open_upstream(self, flight: Flight, endpoint: Endpoint) -> None:
        try:
            upstream = await self.relay.pool.open(endpoint)
        except (OSError, TimeoutError):
            reroute, flight.reroute = flight.reroute, None
            if self.flight is flight and reroute is not None and not self.closed and reroute():
                return
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

    def _unblock(self, flight: Flight) -> None:
        flight.waiting = False
        self._resume("queue")
        try:
            self._pump()
        except Exception:
            log.exception("relay error on a connection from VPC %s", self.vpc_id)
            self.close()

    def _attach(self, flight: Flight, upstream: UpstreamConnection) -> None:
        flight.upstream = upstream
        upstream.owner = self
        if self.writing_paused:
            upstream.pause_reading()
        flight.out.append(flight.head)
        flight.upstream_since = time.monotonic()

    def _flush(self, flight: Flight) -> None:
        out = flight.out
        if flight.upstream is not None:
            flight.upstream.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()

    def _drop_upstream(self, flight: Flight, reusable: bool) -> None:
        upstream, flight.upstream = flight.upstream, None
        if upstream is not None:
            self.relay.pool.release(upstream, reusable)
        self._resume("upstream")

    def _respond(self, flight: Flight, payload: bytes) -> None:
        trace = flight.trace
        if trace.response_started is None:
            trace.response_started = time.time()
        trace.bytes_sent += len(payload)
        flight.responded = True
        self.transport.write(payload)

    def _response_ended(self, flight: Flight) -> None:
        flight.response_done = True
        responses = flight.responses
        self._drop_upstream(flight, reusable=flight.request_done and responses is not None and responses.keep_alive)
        if flight.request_done:
            self._finish(flight)
            self._pump()
        # else: the target answered early; the rest of the request's body is read and dropped, then _finish.

    def _target_failed(self, flight: Flight, reason: str, status: int) -> None:
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

    def _response_head(self, started: http1.ResponseStarted, flight: Flight) -> bytes:
        """The head the client gets; the body is re-chunked when the target's framing was not a length."""
        flight.trace.status = started.status
        data, flight.response_chunked = client_response_head(
            started, flight.trace.request_id, flight.extra_response_headers, self.keep_alive
        )
        return data

    # -- LAMBDA targets ------------------------------------------------------------------------------------

    def _forward_to_function(self, flight: Flight, forwarding: Forwarding, vpc: VpcView, head: RequestHead) -> None:
        """The body is collected (`_function_body`), then the function invoked once the request has ended."""
        trace = flight.trace
        trace.target_address = forwarding.target.id  # the access log's target is the function
        version = self.relay.snapshot().version
        flight.call = FunctionCall(forwarding, vpc, head, b"", self.source[0], trace.request_id, trace.start, version)
        flight.body = []

    def _function_body(self, flight: Flight, data: bytes) -> None:
        body = flight.body
        if body is None:
            return
        body.append(data)
        if flight.trace.bytes_received > MAX_PAYLOAD:
            # Over Lambda's limit: the rest of the body is read and dropped, then 413 (the connection stays usable).
            flight.body = flight.call = None
            self._function_answered(flight, too_large())

    def _invoke_function(self, flight: Flight) -> None:
        call, body = flight.call, flight.body
        if call is None or body is None:
            return
        flight.body = None
        flight.call = call = replace(call, body=b"".join(body))
        flight.trace.sent_to_target = time.time()
        flight.waiting = True  # the function has its own timeout; the idle sweep leaves this request alone
        flight.task = asyncio.get_running_loop().create_task(self._await_function(flight, call))

    async def _await_function(self, flight: Flight, call: FunctionCall) -> None:
        try:
            response = await self.relay.functions.respond(call)
        except Exception:
            log.exception("LAMBDA target invocation failed")
            response = HttpResponse(500, "Internal Server Error", (), b"", "InternalError")
        if self.flight is not flight or self.closed:
            return  # the client went away meanwhile: its record is already written
        flight.waiting = False
        flight.trace.response_started = time.time()
        self._function_answered(flight, response)
        if flight.request_done:
            self._finish(flight)
            self._pump()

    def _function_answered(self, flight: Flight, response: HttpResponse) -> None:
        trace = flight.trace
        data = response_bytes(response, trace.request_id, self.keep_alive, flight.started.method == "HEAD")
        trace.status, trace.failure_reason = response.status, response.failure_reason
        trace.bytes_sent += len(data)
        flight.responded = flight.response_done = True
        self.transport.write(data)
