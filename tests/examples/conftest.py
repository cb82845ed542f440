"""Fixtures for the retail store apps' tests: an orders store in a temp dir, the checkout API wired to the orders
function, and a browser on the storefront wired to both (all in-process; see retail_kit, which also puts the apps
on sys.path, so it is imported here before any test module imports an app)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from retail_kit import CHECKOUT_URL, OrderStore, SqliteOrderStore, checkout_asgi, storefront_asgi
from starlette.applications import Starlette
from starlette.testclient import TestClient


@pytest.fixture
def order_store(tmp_path: Path) -> Iterator[OrderStore]:
    yield SqliteOrderStore(tmp_path / "orders.db")


@pytest.fixture
def checkout_app(order_store: OrderStore) -> Starlette:
    return checkout_asgi(order_store)


@pytest.fixture
def checkout_api(checkout_app: Starlette) -> Iterator[TestClient]:
    with TestClient(checkout_app, base_url=CHECKOUT_URL) as client:
        yield client


@pytest.fixture
def store(checkout_app: Starlette) -> Iterator[TestClient]:
    """A browser on the storefront (cookies kept), its checkout API wired in-process to the orders function."""
    with TestClient(storefront_asgi(checkout_app), base_url="https://ui.example.com", follow_redirects=True) as c:
        yield c
