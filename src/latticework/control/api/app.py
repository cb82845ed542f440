"""The ASGI shell of the control plane: reads the request, offers it to the API fronts in order (the first that
claims it answers: Lambda, ECS, ...), else hands it to the `Gateway` (VPC Lattice rest-json, the EC2 query
subset), and writes the answer. Also answers `GET /_latticework/health`. The only asyncio-facing module of the API.

The request path is the ordered list `fronts` declared in control/server.py, then the gateway; a front is any
object with `claims(path, headers, query)` (cheap: no body read yet), `async handle(...)`, `max_body` and
`too_large()` (its service's error for an oversized body)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qsl

from latticework.control.api.gateway import Gateway, Request
from latticework.control.api.restjson import Response

__all__ = ["ApiFront", "ControlApp"]

_MAX_BODY = 16 * 1024 * 1024


Hook = Callable[[], Awaitable[None]]


class ApiFront(Protocol):
    """One AWS API served beside the gateway's, with its own protocol and error shapes (match, then handle)."""

    max_body: int

    def claims(self, path: str, headers: dict[str, str], query: list[tuple[str, str]]) -> bool: ...

    async def handle(
        self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> Response: ...

    def too_large(self) -> Response: ...


class ControlApp:
    def __init__(
        self,
        gateway: Gateway,
        on_startup: Sequence[Hook] = (),
        on_shutdown: Sequence[Hook] = (),
        health: Callable[[], dict[str, Any]] = dict,
        fronts: Sequence[ApiFront] = (),
    ) -> None:
        self.gateway = gateway
        self.fronts = tuple(fronts)
        self.health = health
        self.on_startup = tuple(on_startup)
        self.on_shutdown = tuple(on_shutdown)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        """Start what runs beside the API (the data plane) with it, and stop it before the store closes."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await _run_hooks(self.on_startup)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _run_hooks(self.on_shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        if path == "/_latticework/health":
            report = {"status": "ok", "configVersion": self.gateway.backend.store.config_version(), **self.health()}
            await _send(send, 200, [("content-type", "application/json")], json.dumps(report).encode())
            return
        query = parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        front = next((f for f in self.fronts if f.claims(path, headers, query)), None)
        if front is not None:
            await self._front(front, scope["method"], path, query, headers, receive, send)
            return
        body = await _read_body(receive, _MAX_BODY)
        if body is None:
            await _send(send, 413, [("content-type", "application/json")], b'{"message":"Request too large"}')
            return
        response = self.gateway.handle(Request(scope["method"], path, query, headers, body))
        await _send(send, response.status, response.headers, response.body)

    async def _front(
        self,
        front: ApiFront,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        receive: Any,
        send: Any,
    ) -> None:
        body = await _read_body(receive, front.max_body)
        response = front.too_large() if body is None else await front.handle(method, path, query, headers, body)
        await _send(send, response.status, response.headers, response.body)


async def _read_body(receive: Any, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Any, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _run_hooks(hooks: Sequence[Hook]) -> None:
    for hook in hooks:
        await hook()
