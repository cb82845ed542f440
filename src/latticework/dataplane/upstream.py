"""Connections to targets: asyncio Protocols, pooled per (host, port, TLS) as keep-alive HTTP/1.1 connections
reused across requests and clients. TLS to targets does not verify certificates (Lattice UG "Target groups":
self-signed or expired target certificates are accepted). I/O module: asyncio and ssl.

A connection does no HTTP itself: while a request uses it, every callback goes to its `owner` (the client
connection in `relay`), which parses the response and writes it on. An idle pooled connection that receives
bytes or closes is dropped. Never reads or writes access logs, never decides anything.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Protocol

__all__ = ["UpstreamConnection", "UpstreamOwner", "UpstreamPool"]

_IDLE_PER_ENDPOINT = 64
_CONNECT_TIMEOUT = 10.0

Endpoint = tuple[str, int, bool]  # host, port, TLS


class UpstreamOwner(Protocol):
    """What a connection reports to the request using it."""

    def upstream_data(self, data: bytes) -> None: ...
    def upstream_closed(self) -> None: ...
    def upstream_full(self) -> None: ...  # the target is not reading: stop reading the client
    def upstream_drained(self) -> None: ...


class UpstreamConnection(asyncio.Protocol):
    """One connection to a target; `owner` is the request using it (None while pooled)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.transport: asyncio.Transport | None = None
        self.owner: UpstreamOwner | None = None
        self.reused = False
        self.closed = False
        self.reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.owner is not None:
            self.owner.upstream_data(data)
        else:
            self.close()  # bytes nobody asked for: the connection cannot carry another exchange

    def eof_received(self) -> bool:
        return False  # the target finished: close our side too (connection_lost follows)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        owner, self.owner = self.owner, None
        if owner is not None:
            owner.upstream_closed()

    def pause_writing(self) -> None:
        if self.owner is not None:
            self.owner.upstream_full()

    def resume_writing(self) -> None:
        if self.owner is not None:
            self.owner.upstream_drained()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None and not self.transport.is_closing():
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        # Only when paused: every release goes through here, and the loop's call is not free.
        if self.reading_paused and self.transport is not None and not self.transport.is_closing():
            self.reading_paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        self.owner = None
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class UpstreamPool:
    def __init__(self) -> None:
        self._idle: dict[Endpoint, list[UpstreamConnection]] = {}
        self._tls = ssl.create_default_context()
        self._tls.check_hostname = False
        self._tls.verify_mode = ssl.CERT_NONE

    def take(self, endpoint: Endpoint) -> UpstreamConnection | None:
        """An idle pooled connection that is still open, or None."""
        idle = self._idle.get(endpoint)
        while idle:
            connection = idle.pop()
            if not connection.closed and connection.transport is not None and not connection.transport.is_closing():
                connection.reused = True
                return connection
        return None

    async def open(self, endpoint: Endpoint) -> UpstreamConnection:
        """A new connection (raises OSError / TimeoutError)."""
        host, port, tls = endpoint
        loop = asyncio.get_running_loop()
        _, connection = await asyncio.wait_for(
            loop.create_connection(lambda: UpstreamConnection(endpoint), host, port, ssl=self._tls if tls else None),
            _CONNECT_TIMEOUT,
        )
        return connection

    def release(self, connection: UpstreamConnection, reusable: bool) -> None:
        connection.owner = None
        idle = self._idle.setdefault(connection.endpoint, [])
        if reusable and not connection.closed and len(idle) < _IDLE_PER_ENDPOINT:
            connection.resume_reading()  # it may have been paused for a slow client; an idle one must see EOF
            idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
