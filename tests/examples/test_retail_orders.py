"""The orders function (`app.handler`): V1 and V2 Lattice events in, Lambda responses out; orders persist in
SQLite, or PostgreSQL when DATABASE_URL is set."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from orders_model import InvalidOrder, order_from_json
from orders_store import OrderStore, SqliteOrderStore, store_from_environment
from retail_kit import invoke_orders

# What checkout 0.4.0 sends (reference retail-store-2023 1.7).
ORDER = {
    "email": "jdoe@example.com",
    "firstName": "John",
    "lastName": "Doe",
    "items": [{"price": 123, "productId": "11", "name": "product11", "totalCost": 246, "quantity": 2}],
}


def v1(method: str, path: str, body: object = None, *, encoded: bool = False) -> dict[str, Any]:
    text = "" if body is None else json.dumps(body)
    return {
        "raw_path": path,
        "method": method,
        "headers": {"content-type": "application/json", "x-amzn-source-vpc": "vpc-0123456789abcdef0"},
        "query_string_parameters": {},
        "body": base64.b64encode(text.encode()).decode() if encoded else text,
        "is_base64_encoded": encoded,
    }


def v2(method: str, path: str, body: object = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "path": path,
        "method": method,
        "headers": {"content-type": ["application/json"]},
        "queryStringParameters": {},
        "body": "" if body is None else json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {"region": "us-west-2", "timeEpoch": "1690497599177430"},
    }


def body_of(response: dict[str, Any]) -> Any:
    assert response["isBase64Encoded"] is False
    assert response["headers"]["Content-Type"] == "application/json"
    return json.loads(response["body"])


@pytest.mark.parametrize("event", [v1("POST", "/orders", ORDER), v1("POST", "/orders", ORDER, encoded=True)])
def test_post_orders_stores_the_order_with_a_uuid(order_store: OrderStore, event: dict[str, Any]) -> None:
    response = invoke_orders(order_store, event)
    assert response["statusCode"] == 200
    created = body_of(response)
    assert uuid.UUID(created["id"]).version == 4
    assert {k: v for k, v in created.items() if k != "id"} == ORDER
    assert [order.to_json() for order in order_store.list_orders()] == [created]


def test_get_orders_lists_every_order_oldest_first(order_store: OrderStore) -> None:
    ids = [
        body_of(invoke_orders(order_store, v1("POST", "/orders", {**ORDER, "email": f"{n}@x.io"})))["id"]
        for n in range(3)
    ]
    listed = body_of(invoke_orders(order_store, v1("GET", "/orders")))
    assert [order["id"] for order in listed] == ids
    assert [order["email"] for order in listed] == ["0@x.io", "1@x.io", "2@x.io"]
    assert listed[0]["items"] == ORDER["items"]


def test_v2_events_work_too(order_store: OrderStore) -> None:
    created = body_of(invoke_orders(order_store, v2("POST", "/orders", ORDER)))
    assert body_of(invoke_orders(order_store, v2("GET", "/orders/"))) == [created]


def test_an_empty_store_lists_nothing(order_store: OrderStore) -> None:
    response = invoke_orders(order_store, v1("GET", "/orders"))
    assert (response["statusCode"], body_of(response)) == (200, [])


@pytest.mark.parametrize(
    ("event", "status", "fragment"),
    [
        (v1("POST", "/orders"), 400, "JSON object"),
        ({**v1("POST", "/orders"), "body": "{not json"}, 400, "JSON object"),
        ({**v1("POST", "/orders"), "body": "%%%", "is_base64_encoded": True}, 400, "base64"),
        (v1("POST", "/orders", {"firstName": "x"}), 400, "email"),
        (v1("POST", "/orders", {"email": "no-at-sign"}), 400, "email"),
        (v1("POST", "/orders", {**ORDER, "items": {}}), 400, "items must be a list"),
        (v1("POST", "/orders", {**ORDER, "items": [{"productId": "1", "quantity": -1, "price": 1}]}), 400, "quantity"),
        (v1("POST", "/orders", {**ORDER, "items": [{"quantity": 1, "price": 1}]}), 400, "productId"),
        (v1("GET", "/carts"), 404, "/orders"),
        (v1("DELETE", "/orders"), 405, "DELETE"),
    ],
)
def test_bad_requests_get_a_status_and_a_message(
    order_store: OrderStore, event: dict[str, Any], status: int, fragment: str
) -> None:
    response = invoke_orders(order_store, event)
    assert response["statusCode"] == status
    assert fragment in body_of(response)["message"]
    assert order_store.list_orders() == []


def test_405_says_which_methods_are_allowed(order_store: OrderStore) -> None:
    assert invoke_orders(order_store, v1("PUT", "/orders", ORDER))["headers"]["Allow"] == "GET, POST"


@given(
    st.dictionaries(st.text(max_size=8), st.none() | st.integers() | st.text(max_size=8) | st.booleans(), max_size=6)
)
def test_any_json_object_is_an_order_or_a_clear_error(data: dict[str, Any]) -> None:
    """The parser never fails with anything but InvalidOrder, whatever object arrives."""
    try:
        order = order_from_json(json.dumps(data).encode(), "id-1")
    except InvalidOrder as error:
        assert str(error)
    else:
        assert "@" in order.email


def test_sqlite_orders_survive_a_new_worker(tmp_path: Path) -> None:
    """A new warm worker (a new store on the same DATA_DIR) sees the orders the last one placed."""
    first = store_from_environment({"DATA_DIR": str(tmp_path)})
    created = body_of(invoke_orders(first, v1("POST", "/orders", ORDER)))
    second = store_from_environment({"DATA_DIR": str(tmp_path)})
    assert isinstance(second, SqliteOrderStore)
    assert [order.id for order in second.list_orders()] == [created["id"]]


def test_handler_reads_its_store_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import app as orders_function

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    orders_function._store.cache_clear()
    try:
        response = orders_function.handler(v1("POST", "/orders", ORDER), object())
        assert response["statusCode"] == 200
        assert (tmp_path / "orders.db").exists()
    finally:
        orders_function._store.cache_clear()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A private schema in database `test`, so parallel runs and other suites never see these tables."""
    psycopg = pytest.importorskip("psycopg")
    base = "postgresql://postgres@127.0.0.1:5432/test"
    schema = f"retail_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(base, autocommit=True)
    except psycopg.OperationalError as error:
        pytest.fail(f"the postgres marker needs PostgreSQL on 127.0.0.1:5432 (database test): {error}")
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.mark.postgres
def test_orders_on_postgres_persist_and_list(postgres_url: str) -> None:
    store = store_from_environment({"DATABASE_URL": postgres_url})
    created = [body_of(invoke_orders(store, v1("POST", "/orders", {**ORDER, "email": f"{n}@pg.io"}))) for n in range(2)]
    again = store_from_environment({"DATABASE_URL": postgres_url})  # a second worker
    assert body_of(invoke_orders(again, v1("GET", "/orders"))) == created
