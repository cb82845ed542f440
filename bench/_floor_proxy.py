"""The floor a Python relay stands on: a throwaway reverse proxy with nothing but the I/O, run by
bench/dataplane.py next to nginx and Latticework (its row "floor").

asyncio Protocols on uvloop, httptools (llhttp) for both sides, one pooled keep-alive upstream connection per
client connection, the response framed by Content-Length only; no routing, no rules, no headers added, no access
log, no metrics, no checks. As reference section 4.3's "asyncio Protocol + httptools + uvloop" row: what is left
when every feature is taken away, so the distance from it to Latticework is the cost of the features, and from
it to nginx the cost of Python and its event loop. Never use it for anything else.

    .venv/bin/python bench/_floor_proxy.py LISTEN_PORT BACKEND_PORT
"""

from __future__ import annotations

import asyncio
import sys

import httptools
import uvloop


class _Side(asyncio.Protocol):
    """One connection: bytes collected until httptools says a message is complete, then `message(bytes)`."""

    def __init__(self, parser: type[httptools.HttpRequestParser | httptools.HttpResponseParser]) -> None:
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser_type = parser
        self.parser = parser(self)
        self.chunks: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        whole, self.chunks = b"".join(self.chunks), []
        self.parser = self.parser_type(self)
        self.message(whole)

    def message(self, data: bytes) -> None:
        raise NotImplementedError


class Upstream(_Side):
    def __init__(self, client: Client) -> None:
        super().__init__(httptools.HttpResponseParser)
        self.client = client

    def message(self, data: bytes) -> None:
        self.client.transport.write(data)


class Client(_Side):
    def __init__(self, backend: int) -> None:
        super().__init__(httptools.HttpRequestParser)
        self.backend = backend
        self.upstream: Upstream | None = None

    def message(self, data: bytes) -> None:
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.write(data)
        else:
            asyncio.get_running_loop().create_task(self._connect(data))

    async def _connect(self, request: bytes) -> None:
        loop = asyncio.get_running_loop()
        _, self.upstream = await loop.create_connection(lambda: Upstream(self), "127.0.0.1", self.backend)
        assert self.upstream.transport is not None
        self.upstream.transport.write(request)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.close()


async def serve(port: int, backend: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Client(backend), "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1]), int(sys.argv[2])))
