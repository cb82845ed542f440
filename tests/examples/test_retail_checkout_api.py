"""The checkout API's endpoints: status codes, error bodies and storage, as 0.4.0's (reference
retail-store-2023 2.2), wired in-process to the real orders function."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from checkout.app import app_from_environment, create_app
from checkout.orders_client import HttpOrdersService
from checkout.repository import MemoryCheckoutRepository, SqliteCheckoutRepository
from orders_store import OrderStore
from retail_kit import CHECKOUT_URL, checkout_asgi
from starlette.testclient import TestClient

# The body of 0.4.0's own e2e test (src/checkout/test/app.e2e-spec.ts).
E2E_BODY: dict[str, Any] = {
    "customerEmail": "jdoe@example.com",
    "items": [
        {"id": "a1", "name": "A1", "quantity": 1, "unitCost": 123, "totalCost": 123, "imageUrl": "http://img/a1"},
        {"id": "b1", "name": "B1", "quantity": 1, "unitCost": 123, "totalCost": 123, "imageUrl": "http://img/b1"},
    ],
    "shippingAddress": {
        "firstName": "John",
        "lastName": "Doe",
        "address1": "999 Main St.",
        "address2": "#123",
        "city": "Sometown",
        "state": "AB",
        "zip": "12345",
    },
    "subtotal": 492,
}
ALNUM = re.compile(r"^[A-Za-z0-9]+$")


def test_health_answers_like_terminus(checkout_api: TestClient) -> None:
    response = checkout_api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "info": {}, "error": {}, "details": {}}


def test_unknown_checkout_is_404_with_nest_body(checkout_api: TestClient) -> None:
    response = checkout_api.get("/checkout/test123")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Checkout not found", "error": "Not Found"}


def test_update_creates_201_and_get_returns_it(checkout_api: TestClient) -> None:
    created = checkout_api.post("/checkout/test124/update", json=E2E_BODY)
    assert created.status_code == 201
    body = created.json()
    assert (body["tax"], body["shipping"], body["total"]) == (24, -1, 516)
    assert body["request"] == E2E_BODY
    assert len(body["paymentId"]) == 16 and ALNUM.match(body["paymentId"])
    assert len(body["paymentToken"]) == 32 and ALNUM.match(body["paymentToken"])
    assert len(body["shippingRates"]["shipmentId"]) == 32
    fetched = checkout_api.get("/checkout/test124")
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_every_update_regenerates_the_payment_ids(checkout_api: TestClient) -> None:
    first = checkout_api.post("/checkout/c1/update", json={"subtotal": 1}).json()
    second = checkout_api.post(
        "/checkout/c1/update", json={"subtotal": 1, "deliveryOptionToken": "priority-mail"}
    ).json()
    assert first["paymentToken"] != second["paymentToken"] and first["paymentId"] != second["paymentId"]
    assert second["shipping"] == 5


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"items": []}, ["subtotal must not be less than 0", "subtotal must be an integer number"]),
        ({"subtotal": 1, "customerEmail": "nope"}, ["customerEmail must be an email"]),
        ({"subtotal": 1, "items": [{"id": "1"}]}, None),
    ],
)
def test_invalid_update_is_400_with_class_validator_messages(
    checkout_api: TestClient, body: dict[str, Any], message: list[str] | None
) -> None:
    response = checkout_api.post("/checkout/bad/update", json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["statusCode"] == 400 and payload["error"] == "Bad Request"
    assert isinstance(payload["message"], list) and payload["message"]
    if message is not None:
        assert payload["message"] == message
    assert checkout_api.get("/checkout/bad").status_code == 404  # nothing stored


def test_update_with_a_body_that_is_not_json_is_400(checkout_api: TestClient) -> None:
    response = checkout_api.post("/checkout/x/update", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]


def test_submit_without_a_checkout_is_a_bare_500(checkout_api: TestClient) -> None:
    response = checkout_api.post("/checkout/nobody/submit")
    assert response.status_code == 500
    assert response.json() == {"statusCode": 500, "message": "Internal server error"}


def test_submit_places_the_order_and_deletes_the_checkout(checkout_api: TestClient, order_store: OrderStore) -> None:
    checkout_api.post("/checkout/s1/update", json=E2E_BODY)
    response = checkout_api.post("/checkout/s1/submit")
    assert response.status_code == 201
    body = response.json()
    assert body["customerEmail"] == "jdoe@example.com"
    assert uuid.UUID(body["orderId"]).version == 4
    assert checkout_api.get("/checkout/s1").status_code == 404
    [order] = order_store.list_orders()
    assert order.id == body["orderId"]
    assert [item.product_id for item in order.items] == ["a1", "b1"]


def test_submit_keeps_the_checkout_when_orders_fails() -> None:
    failing = httpx.MockTransport(lambda request: httpx.Response(502, text="Bad Gateway"))
    orders = HttpOrdersService(httpx.AsyncClient(base_url="https://orders.example.com", transport=failing))
    with TestClient(create_app(MemoryCheckoutRepository(), orders), base_url=CHECKOUT_URL) as api:
        api.post("/checkout/s2/update", json=E2E_BODY)
        response = api.post("/checkout/s2/submit")
        assert response.status_code == 500
        assert response.json() == {"statusCode": 500, "message": "Internal server error"}
        assert api.get("/checkout/s2").status_code == 200


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("PUT", "/checkout/x"), ("GET", "/checkout/x/submit")])
def test_unknown_routes_are_404_cannot_method_path(checkout_api: TestClient, method: str, path: str) -> None:
    response = checkout_api.request(method, path)
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": f"Cannot {method} {path}", "error": "Not Found"}


def test_without_endpoints_orders_submit_uses_0_4_0s_mock(tmp_path: Path) -> None:
    app = app_from_environment({"DATA_DIR": str(tmp_path), "ENDPOINTS_ORDERS": ""})
    with TestClient(app, base_url=CHECKOUT_URL) as api:
        api.post("/checkout/m/update", json=E2E_BODY)
        assert api.post("/checkout/m/submit").json() == {"orderId": "abc123", "customerEmail": "jdoe@example.com"}


def test_sqlite_checkouts_outlive_the_app(tmp_path: Path, order_store: OrderStore) -> None:
    """Default storage is a file under DATA_DIR: a restarted checkout API still has the checkout."""
    with TestClient(app_from_environment({"DATA_DIR": str(tmp_path)}), base_url=CHECKOUT_URL) as api:
        assert api.post("/checkout/keep/update", json=E2E_BODY).status_code == 201
    assert (tmp_path / "checkout.db").exists()
    restarted = checkout_asgi(order_store, SqliteCheckoutRepository(tmp_path / "checkout.db"))
    with TestClient(restarted, base_url=CHECKOUT_URL) as api:
        assert api.get("/checkout/keep").json()["total"] == 516
        assert api.post("/checkout/keep/submit").status_code == 201
        assert api.get("/checkout/keep").status_code == 404


@pytest.fixture
def redis_url() -> Iterator[str]:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"the redis marker needs Redis on 127.0.0.1:6379: {error}")
    yield url
    client.close()


@pytest.mark.redis
def test_checkout_on_redis_stores_json_under_the_raw_customer_id(redis_url: str, order_store: OrderStore) -> None:
    import redis

    customer = f"retail-test-{uuid.uuid4()}"
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        from checkout.repository import RedisCheckoutRepository

        app = checkout_asgi(order_store, RedisCheckoutRepository(redis_url))
        with TestClient(app, base_url=CHECKOUT_URL) as api:
            assert api.post(f"/checkout/{customer}/update", json=E2E_BODY).status_code == 201
            assert raw.ttl(customer) == -1  # SET with no expiry, as 0.4.0
            assert api.get(f"/checkout/{customer}").json() == json.loads(raw.get(customer) or "null")
            submitted = api.post(f"/checkout/{customer}/submit")
            assert submitted.status_code == 201
            assert raw.exists(customer) == 0
        assert [order.id for order in order_store.list_orders()] == [submitted.json()["orderId"]]
    finally:
        raw.delete(customer)
        raw.close()


@pytest.mark.redis
def test_redis_url_in_the_environment_selects_redis(redis_url: str) -> None:
    import redis

    customer = f"retail-test-{uuid.uuid4()}"
    raw = redis.Redis.from_url(redis_url)
    try:
        with TestClient(app_from_environment({"REDIS_URL": redis_url}), base_url=CHECKOUT_URL) as api:
            api.post(f"/checkout/{customer}/update", json={"subtotal": 7})
        assert raw.exists(customer) == 1
    finally:
        raw.delete(customer)
        raw.close()
