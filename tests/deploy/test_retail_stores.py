"""The retail store's journey with checkout on Redis and orders on PostgreSQL, chosen by the template parameters
RedisUrl and DatabaseUrl: the real servers on 127.0.0.1 (Redis DB 9, a private PostgreSQL schema), and no SQLite
file in the state dir."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from retail_journey import assert_purchase_went_through_lattice, cli, deploy_store, shop_over_http

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

REDIS_URL = "redis://127.0.0.1:6379/9"  # keys are session UUIDs, so parallel runs never collide
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def redis() -> Iterator[Any]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"the redis marker needs Redis on 127.0.0.1:6379: {error}")
    yield client
    client.close()


@pytest.fixture
def postgres() -> Iterator[tuple[Any, str]]:
    """A private schema in database `test` (dropped afterwards) and the DATABASE_URL that selects it."""
    psycopg = pytest.importorskip("psycopg")
    schema = f"retail_up_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True)
    except psycopg.OperationalError as error:
        pytest.fail(f"the postgres marker needs PostgreSQL on 127.0.0.1:5432 (database test): {error}")
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield admin, schema
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def test_journey_with_checkout_on_redis_and_orders_on_postgres(
    make_server: Callable[..., Any], redis: Any, postgres: tuple[Any, str]
) -> None:
    """The order row lands in the schema, the checkout key in Redis DB 9 is deleted on submit, no SQLite is made."""
    admin, schema = postgres
    server = make_server("--health-interval-scale", "0.1")
    database_url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    url = deploy_store(server, f"RedisUrl={REDIS_URL}", f"DatabaseUrl={database_url}")

    def stored_in_redis(session_id: str) -> None:
        assert '"customerEmail": "ada@example.com"' in redis.get(session_id)  # 0.4.0: key = customer id, JSON

    purchase = shop_over_http(server, url, before_submit=stored_in_redis)
    assert redis.exists(purchase.session_id) == 0  # deleted on submit
    assert_purchase_went_through_lattice(server, purchase)
    rows = admin.execute(f"SELECT id, email FROM {schema}.retail_orders").fetchall()
    assert rows == [(purchase.order_id, purchase.email)]
    assert not (server.state_dir / "retail-store" / "checkout.db").exists()
    assert not (server.state_dir / "retail-store" / "orders.db").exists()
    assert cli(server, "down", "--keep-server").returncode == 0
