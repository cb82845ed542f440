"""Connections to targets: a pool of keep-alive HTTP/1.1 connections per (host, port, TLS), reused across
requests and clients. TLS to targets does not verify certificates (Lattice UG "Target groups": self-signed or
expired target certificates are accepted). I/O module: asyncio streams and ssl."""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from dataclasses import dataclass, field

__all__ = ["Connection", "UpstreamPool"]

_IDLE_PER_ENDPOINT = 64
_CONNECT_TIMEOUT = 10.0


@dataclass(eq=False)
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    endpoint: tuple[str, int, bool]
    reused: bool = field(default=False)

    def close(self) -> None:
        self.writer.close()


class UpstreamPool:
    def __init__(self) -> None:
        self._idle: dict[tuple[str, int, bool], list[Connection]] = defaultdict(list)
        self._tls = ssl.create_default_context()
        self._tls.check_hostname = False
        self._tls.verify_mode = ssl.CERT_NONE

    async def acquire(self, host: str, port: int, tls: bool) -> Connection:
        """An idle pooled connection that is still open, or a new one (raises OSError / TimeoutError)."""
        endpoint = (host, port, tls)
        idle = self._idle[endpoint]
        while idle:
            connection = idle.pop()
            if not connection.reader.at_eof() and not connection.writer.is_closing():
                connection.reused = True
                return connection
            connection.close()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=self._tls if tls else None), _CONNECT_TIMEOUT
        )
        return Connection(reader, writer, endpoint)

    def release(self, connection: Connection, reusable: bool) -> None:
        idle = self._idle[connection.endpoint]
        if reusable and len(idle) < _IDLE_PER_ENDPOINT and not connection.writer.is_closing():
            idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
