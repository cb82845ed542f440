"""Checkout -> orders: POST {ENDPOINTS_ORDERS}/orders on submit (through Lattice in the demo).

Owns: the HTTP client's trust of the process environment - HTTP(S)_PROXY / NO_PROXY (how a process in a VPC
reaches Lattice here) and the CA bundle from SSL_CERT_FILE or REQUESTS_CA_BUNDLE (the local CA that signs
orders.example.com) - and 0.4.0's mock when ENDPOINTS_ORDERS is empty. Must never touch the checkout store.
"""

from __future__ import annotations

import os
import ssl  # noqa: TID251  (this module is checkout's outbound I/O shell)
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import httpx

__all__ = ["HttpOrdersService", "MockOrdersService", "OrdersFailed", "OrdersService", "trusting_client"]


class OrdersFailed(Exception):
    """The orders API did not take the order (unreachable, non-2xx, or no id in the answer)."""


class OrdersService(ABC):
    @abstractmethod
    async def create(self, order: dict[str, Any]) -> dict[str, Any]:
        """The stored order (with its `id`), or OrdersFailed."""

    async def close(self) -> None:  # noqa: B027  (an optional hook: not every backend holds connections)
        """Release connections."""


class MockOrdersService(OrdersService):
    """0.4.0's MockOrdersService, used when ENDPOINTS_ORDERS is empty: id "abc123", nothing stored."""

    async def create(self, order: dict[str, Any]) -> dict[str, Any]:
        return {"id": "abc123", "email": order.get("email")}


class HttpOrdersService(OrdersService):
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def create(self, order: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post("/orders", json=order, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise OrdersFailed(f"orders API at {self._client.base_url} unreachable: {error!r}") from error
        if not response.is_success:
            raise OrdersFailed(f"orders API answered {response.status_code}: {response.text[:200]}")
        created = response.json()
        if not isinstance(created, dict) or not created.get("id"):
            raise OrdersFailed(f"orders API answered without an order id: {response.text[:200]}")
        return created

    async def close(self) -> None:
        await self._client.aclose()


def trusting_client(
    base_url: str, environ: Mapping[str, str] | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An httpx client that honours HTTP(S)_PROXY/NO_PROXY (trust_env) and SSL_CERT_FILE or REQUESTS_CA_BUNDLE.
    httpx reads SSL_CERT_FILE itself but not REQUESTS_CA_BUNDLE, which `latticework vpc env` also sets."""
    env = os.environ if environ is None else environ
    bundle = env.get("SSL_CERT_FILE") or env.get("REQUESTS_CA_BUNDLE")
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=bundle) if bundle else True
    timeout = httpx.Timeout(10.0, connect=1.0)  # 0.4.0's clients: 1 s connect, 10 s read/write
    return httpx.AsyncClient(base_url=base_url, verify=verify, trust_env=True, timeout=timeout, transport=transport)
