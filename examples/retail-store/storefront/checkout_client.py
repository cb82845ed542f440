"""Storefront -> checkout API (ENDPOINTS_CHECKOUT; https://checkout.example.com through Lattice in the demo).

Owns: 0.4.0's WebClientCheckoutService sequence - create (update with the cart), shipping (get, set email and
address, update), delivery (get, set the token, update), get, submit - and the view of a Checkout the pages show.
Trusts the process environment for proxy and CA (HTTP(S)_PROXY, NO_PROXY, SSL_CERT_FILE or REQUESTS_CA_BUNDLE).
Must never keep checkout state itself: the checkout API is the only truth.
"""

from __future__ import annotations

import os
import ssl  # noqa: TID251  (this module is the storefront's outbound I/O shell)
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from storefront.cart import Cart

__all__ = ["CheckoutClient", "CheckoutUnavailable", "CheckoutView", "ShippingOption", "trusting_client"]


class CheckoutUnavailable(Exception):
    """The checkout API failed or could not be reached; the message says which call and why."""


@dataclass(frozen=True, slots=True)
class ShippingOption:
    name: str
    amount: int
    token: str
    estimated_days: int


@dataclass(frozen=True, slots=True)
class CheckoutView:
    """0.4.0's UI Checkout: items and subtotal from the request, tax/shipping/total -1 when not known yet."""

    items: tuple[dict[str, Any], ...]
    subtotal: int
    tax: int
    shipping: int
    total: int
    shipping_options: tuple[ShippingOption, ...]
    payment_token: str
    customer_email: str

    @classmethod
    def of(cls, checkout: dict[str, Any]) -> CheckoutView:
        request = checkout.get("request") or {}
        rates = (checkout.get("shippingRates") or {}).get("rates") or []
        options = tuple(ShippingOption(r["name"], r["amount"], r["token"], r["estimatedDays"]) for r in rates)
        return cls(
            items=tuple(request.get("items") or ()),
            subtotal=int(request.get("subtotal", 0)),
            tax=int(checkout.get("tax", -1)),
            shipping=int(checkout.get("shipping", -1)),
            total=int(checkout.get("total", -1)),
            shipping_options=options,
            payment_token=str(checkout.get("paymentToken", "")),
            customer_email=str(request.get("customerEmail") or ""),
        )


def cart_request(cart: Cart) -> dict[str, Any]:
    """The CheckoutRequest 0.4.0's create() sent: subtotal plus one item per cart line."""
    items = [
        {
            "id": item.product_id,
            "name": item.name,
            "quantity": item.quantity,
            "unitCost": item.price,
            "totalCost": item.total_price,
            "imageUrl": item.image_url,
        }
        for item in cart.items
    ]
    return {"subtotal": cart.subtotal, "items": items}


class CheckoutClient:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.HTTPError as error:
            raise CheckoutUnavailable(f"{method} {self._client.base_url}{path}: {error!r}") from error
        if not response.is_success:
            raise CheckoutUnavailable(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
        result: dict[str, Any] = response.json()
        return result

    async def _update(self, session_id: str, request: dict[str, Any]) -> CheckoutView:
        return CheckoutView.of(await self._call("POST", f"/checkout/{session_id}/update", request))

    async def _request(self, session_id: str) -> dict[str, Any]:
        request: dict[str, Any] = (await self._call("GET", f"/checkout/{session_id}")).get("request") or {}
        return request

    async def create(self, session_id: str, cart: Cart) -> CheckoutView:
        return await self._update(session_id, cart_request(cart))

    async def shipping(self, session_id: str, email: str, address: dict[str, str]) -> CheckoutView:
        request = await self._request(session_id)
        return await self._update(session_id, {**request, "customerEmail": email, "shippingAddress": address})

    async def delivery(self, session_id: str, token: str) -> CheckoutView:
        request = await self._request(session_id)
        return await self._update(session_id, {**request, "deliveryOptionToken": token})

    async def get(self, session_id: str) -> CheckoutView:
        return CheckoutView.of(await self._call("GET", f"/checkout/{session_id}"))

    async def submit(self, session_id: str) -> dict[str, Any]:
        """{orderId, customerEmail} once the order is placed."""
        return await self._call("POST", f"/checkout/{session_id}/submit")

    async def close(self) -> None:
        await self._client.aclose()


def trusting_client(
    base_url: str, environ: Mapping[str, str] | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """httpx with trust_env (proxies from HTTP(S)_PROXY/NO_PROXY) and the CA bundle from SSL_CERT_FILE or
    REQUESTS_CA_BUNDLE; httpx alone ignores REQUESTS_CA_BUNDLE, which `latticework vpc env` sets too."""
    env = os.environ if environ is None else environ
    bundle = env.get("SSL_CERT_FILE") or env.get("REQUESTS_CA_BUNDLE")
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=bundle) if bundle else True
    timeout = httpx.Timeout(10.0, connect=1.0)  # 0.4.0's UI clients: 1 s connect, 10 s read/write
    return httpx.AsyncClient(base_url=base_url, verify=verify, trust_env=True, timeout=timeout, transport=transport)
