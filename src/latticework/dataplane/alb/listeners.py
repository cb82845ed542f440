"""ALBs on the Lattice relay: the I/O half. Three ways a request reaches an ALB, all on the relay's connections:

- an internet-facing ALB's listener: a server on 127.0.0.1 at `names.bind_port(port)` whose connections are the
  relay's own (`AlbConnection`, a `_ClientConnection` that asks the ALB core instead of Lattice's);
- an internal ALB, by its DNS name, through the ingress of its VPC (the relay offers requests for no Lattice
  service to `AlbRouter.from_ingress`); an internal ALB has no socket of its own, so nothing else reaches it;
- a Lattice target group of type ALB (`AlbRouter.from_lattice`): the ALB's rules run on the same flight, in the
  same process, and the request goes straight to the chosen ELBv2 target. Nothing crosses a wire between
  Lattice and the ALB, so the Lattice group's HTTPS to the ALB has no TLS to do.

Also the health sink that writes ELBv2 target health into the target records. Decisions are `decide`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from latticework.control.store import Store
from latticework.dataplane import http1
from latticework.dataplane._fastpath import new_request_id, reason_phrase
from latticework.dataplane.alb import names
from latticework.dataplane.alb.accesslog import AlbHop
from latticework.dataplane.alb.conditions import Request
from latticework.dataplane.alb.decide import (
    AlbDecision,
    AlbFixed,
    AlbForward,
    AlbRedirect,
    another_target,
    decide_alb,
    forwarded_headers,
    trace_id,
)
from latticework.dataplane.alb.views import AlbSnapshot, AlbView
from latticework.dataplane.decide import Forwarding, RequestHead, upstream_headers
from latticework.dataplane.forwarding import HOP_BY_HOP, Flight, ForwardingConnection, Trace
from latticework.dataplane.healthcheck import HealthSink
from latticework.dataplane.relay import Relay, _ClientConnection
from latticework.dataplane.snapshot import TargetGroupView, TargetView, VpcView

__all__ = ["AlbConnection", "AlbHealthSink", "AlbRouter", "AlbServers"]

log = logging.getLogger(__name__)

# The address an ALB sees a request from when Lattice forwards it (the data plane's own, on this machine).
DATA_PLANE_ADDRESS = "127.0.0.1"
Healthy = Callable[[TargetGroupView], frozenset[str]]
ServerContext = Callable[[str], Any]  # certificate ARN -> ssl.SSLContext, or None


class AlbRouter:
    """Runs the ALB core for a flight and carries out its decision on that flight's connection."""

    def __init__(self, relay: Relay, albs: Callable[[], AlbSnapshot], healthy: Healthy) -> None:
        self.relay = relay
        self.albs = albs
        self.healthy = healthy

    def from_ingress(self, conn: _ClientConnection, flight: Flight, head: RequestHead) -> bool:
        """An internal ALB named by the request's host, in the VPC whose ingress the request came in on."""
        alb = self.albs().by_host.get(head.host)
        if alb is None or alb.scheme != "internal" or alb.vpc_id != conn.vpc_id:
            return False
        flight.trace.decision = self.run(conn, flight, alb, head.port, head.scheme, head, list(head.header_list))
        return True

    def from_lattice(
        self, conn: ForwardingConnection, flight: Flight, forwarding: Forwarding, vpc: VpcView, head: RequestHead
    ) -> None:
        """A Lattice ALB target group: the ALB gets the request as Lattice would send it (Lattice's headers),
        from the data plane's address, on the listener the group's port names."""
        group, target = forwarding.target_group, forwarding.target
        flight.trace.target_address = f"{target.id}:{target.port or group.port}"
        alb = self.albs().albs.get(target.id)
        if alb is None:
            self._answer(conn, flight, 502, [], b"The ALB target is gone", "TargetConnectionError")
            return
        scheme = (group.protocol or "HTTP").lower()
        headers = upstream_headers(head, forwarding, vpc, conn.source[0], flight.trace.request_id)
        self.run(conn, flight, alb, int(target.port or group.port or 80), scheme, head, headers, DATA_PLANE_ADDRESS)

    def run(
        self,
        conn: ForwardingConnection,
        flight: Flight,
        alb: AlbView,
        port: int,
        scheme: str,
        head: RequestHead,
        headers: list[tuple[str, str]],
        client_ip: str | None = None,
    ) -> AlbDecision:
        now = time.time()
        client = client_ip or conn.source[0]
        request = Request(head.method, head.path, head.query, head.host, dict(headers), client)
        relay = self.relay
        decision = decide_alb(
            self.albs(), alb, port, scheme, request, self.healthy, relay._random.random(), relay._next, now
        )
        if alb.access_log is not None:
            hop_trace = trace_id(headers, flight.trace.request_id, now)
            flight.trace.alb = AlbHop(alb, scheme, port, (client, conn.source[1]), hop_trace, decision)
        if isinstance(decision, AlbForward):
            out = forwarded_headers(headers, client, scheme, port, flight.trace.request_id, now)
            self._forward(conn, flight, decision, out)
        elif isinstance(decision, AlbFixed):
            content = [("content-type", decision.content_type)]
            self._answer(conn, flight, decision.status, content, decision.body.encode(), None)
        elif isinstance(decision, AlbRedirect):
            self._answer(conn, flight, decision.status, [("location", decision.location)], b"", None)
        else:
            self._answer(conn, flight, decision.status, [], decision.message.encode(), decision.failure_reason)
        return decision

    def _forward(
        self,
        conn: ForwardingConnection,
        flight: Flight,
        decision: AlbForward,
        headers: list[tuple[str, str]],
        retry: bool = True,
    ) -> None:
        if retry:
            flight.reroute = lambda: self._reroute(conn, flight, decision, headers)
        address = self.relay.address_of(decision.target_group, decision.target)
        if address is None:
            self._answer(conn, flight, 502, [], b"Target has no address", "TargetConnectionError")
            return
        if decision.set_cookie:
            flight.extra_response_headers = (("set-cookie", decision.set_cookie),)
        flight.head = _request_head(flight, headers)
        conn.send_upstream(flight, address, https=decision.target_group.protocol == "HTTPS")

    def _reroute(
        self, conn: ForwardingConnection, flight: Flight, refused: AlbForward, headers: list[tuple[str, str]]
    ) -> bool:
        """Send a request whose target refused the connection to another target of the group, once
        (`decide.another_target`); False when there is none (the client gets the connection error)."""
        other = another_target(refused, self.healthy, self.relay._next(refused.target_group.arn))
        if other is None:
            return False
        flight.waiting = False
        self._forward(conn, flight, other, headers, retry=False)
        if not flight.waiting:  # a pooled connection, or an answer of our own: carry on with the request now
            conn._unblock(flight)
        return True

    def _answer(
        self,
        conn: ForwardingConnection,
        flight: Flight,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        failure: str | None,
    ) -> None:
        """An answer of the ALB's own (fixed response, redirect, 503), written now; the request's body is read
        and dropped before the next request (`flight.answer` with `responded`)."""
        trace = flight.trace
        trace.failure_reason = failure
        head_only = flight.started.method == "HEAD"
        fields = [*headers, ("content-length", str(len(body))), ("x-amzn-requestid", trace.request_id)]
        if not conn.keep_alive:
            fields.append(("connection", "close"))
        data = http1.encode_response_head(status, reason_phrase(status), fields) + (b"" if head_only else body)
        trace.status, trace.bytes_sent = status, len(data)
        flight.responded = True
        flight.answer = (status, "")
        conn.transport.write(data)


def _request_head(flight: Flight, headers: list[tuple[str, str]]) -> bytes:
    started = flight.started
    kept = [(n, v) for n, v in headers if n not in HOP_BY_HOP]
    if started.framing is http1.Framing.CHUNKED:
        kept.append(("transfer-encoding", "chunked"))
        flight.chunked = True
    elif started.content_length is not None:
        kept.append(("content-length", str(started.content_length)))
    return http1.encode_request_head(started.method, flight.trace.target, kept)


class AlbConnection(_ClientConnection):
    """A client connection on an internet-facing ALB listener: the relay's connection, the ALB's decisions."""

    def __init__(self, relay: Relay, router: AlbRouter, alb: AlbView, port: int, scheme: str) -> None:
        super().__init__(relay, alb.vpc_id or "")
        self.router, self.alb_arn, self.port, self.scheme = router, alb.arn, port, scheme

    def _begin(self, started: http1.RequestStarted) -> None:
        trace = Trace(start=time.time(), vpc=None, source=self.source, request_id=new_request_id())
        self.keep_alive = started.keep_alive
        trace.method, trace.target, trace.scheme = started.method, started.target, self.scheme
        trace.user_agent = started.header_map.get("user-agent", "-")
        flight = self.flight = Flight(started, trace)
        alb = self.router.albs().albs.get(self.alb_arn)
        if started.method == "CONNECT" or started.target.startswith(("http://", "https://")) or alb is None:
            self.keep_alive = False
            flight.answer = (400 if alb is not None else 503, "Not a request this load balancer serves")
            return
        head = self._head(started, False, trace.start)
        trace.host = head.host
        trace.decision = self.router.run(self, flight, alb, self.port, self.scheme, head, list(head.header_list))


class AlbServers:
    """One server on 127.0.0.1 per internet-facing ALB listener, kept in step with the ALB view."""

    def __init__(self, relay: Relay, router: AlbRouter, server_context: ServerContext, host: str = "127.0.0.1"):
        self.relay, self.router, self.server_context, self.host = relay, router, server_context, host
        self.servers: dict[tuple[str, int, str, str | None], asyncio.Server] = {}

    async def sync(self, albs: AlbSnapshot) -> None:
        wanted = {
            (alb.arn, listener.port, listener.protocol, listener.certificate_arn): alb
            for alb in albs.albs.values()
            if alb.scheme == "internet-facing"
            for listener in alb.listeners.values()
        }
        for key in [k for k in self.servers if k not in wanted]:
            self.servers.pop(key).close()
        for key, alb in wanted.items():
            if key not in self.servers:
                with contextlib.suppress(OSError):
                    self.servers[key] = await self._open(alb, key[1], key[2], key[3])

    async def _open(self, alb: AlbView, port: int, protocol: str, certificate: str | None) -> asyncio.Server:
        context = self.server_context(certificate) if protocol == "HTTPS" and certificate else None
        scheme = "https" if protocol == "HTTPS" else "http"
        bound = names.bind_port(port)
        try:
            server = await asyncio.get_running_loop().create_server(
                lambda: AlbConnection(self.relay, self.router, alb, port, scheme), self.host, bound, ssl=context
            )
        except OSError as exc:
            log.error("ALB %s listener %d cannot bind %s:%d: %s", alb.name, port, self.host, bound, exc)
            raise
        log.info("ALB %s listener %d on %s://%s:%d", alb.name, port, scheme, self.host, bound)
        return server

    async def close(self) -> None:
        for server in self.servers.values():
            server.close()
        self.servers.clear()


class AlbHealthSink(HealthSink):
    """Writes an ELBv2 target's health into its record (not configuration: no config version bump)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, target_group_id: str, target: TargetView, status: str, reason: str | None) -> None:
        # target_group_id is the group's ARN: arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID
        parts = target_group_id.split(":")
        region, account, group_id = parts[3], parts[4], target_group_id.rsplit("/", 1)[-1]
        with self.store.transaction() as tx:
            stored = tx.get(names.TARGET_KIND, account, region, f"{group_id}/{target.id}:{target.port}")
            if stored is None or stored.doc.get("status") == "DRAINING":
                return
            stored.doc["status"] = status
            if reason:
                stored.doc["reasonCode"] = reason
            else:
                stored.doc.pop("reasonCode", None)
            tx.put(stored, config=False)
