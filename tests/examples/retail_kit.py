"""Helpers for the retail store apps' tests (examples/retail-store): the three apps wired in-process - storefront ->
checkout API -> orders function (through serve.py's V1-event adapter) - over httpx's ASGI transport, no Lattice.

The apps are not installed packages: their directory (and the orders function's code directory, as Lambda puts
it on sys.path) are added to sys.path here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

RETAIL = Path(__file__).resolve().parents[2] / "examples" / "retail-store"
for path in (RETAIL, RETAIL / "orders"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import app as orders_function  # noqa: E402  (the orders function's handler module, `app.handler`)
import serve as orders_serve  # noqa: E402
from checkout.app import create_app as create_checkout  # noqa: E402
from checkout.orders_client import HttpOrdersService  # noqa: E402
from checkout.repository import CheckoutRepository, MemoryCheckoutRepository  # noqa: E402
from orders_store import OrderStore, SqliteOrderStore  # noqa: E402
from storefront.app import create_app as create_storefront  # noqa: E402
from storefront.checkout_client import CheckoutClient  # noqa: E402

__all__ = [
    "CHECKOUT_URL",
    "ORDERS_URL",
    "RETAIL",
    "OrderStore",
    "SqliteOrderStore",
    "checkout_asgi",
    "invoke_orders",
    "orders_asgi",
    "storefront_asgi",
]

ORDERS_URL = "https://orders.example.com"
CHECKOUT_URL = "https://checkout.example.com"


def orders_asgi(store: OrderStore) -> Starlette:
    """The orders function behind the V1-event adapter, on the given store."""
    return orders_serve.create_app(lambda event, context: orders_function.handle(event, store))


def checkout_asgi(store: OrderStore, repository: CheckoutRepository | None = None) -> Starlette:
    transport = httpx.ASGITransport(app=orders_asgi(store))
    orders = HttpOrdersService(httpx.AsyncClient(base_url=ORDERS_URL, transport=transport))
    return create_checkout(repository or MemoryCheckoutRepository(), orders)


def storefront_asgi(checkout: Starlette) -> Starlette:
    client = httpx.AsyncClient(base_url=CHECKOUT_URL, transport=httpx.ASGITransport(app=checkout))
    return create_storefront(CheckoutClient(client))


def invoke_orders(store: OrderStore, event: dict[str, Any]) -> dict[str, Any]:
    return orders_function.handle(event, store)
