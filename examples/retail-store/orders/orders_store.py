"""Where orders persist: SQLite (a file under DATA_DIR) by default, PostgreSQL when DATABASE_URL is set.

Owns: the two tables (an order row and its item rows, as the 2023 orders service's CUSTOMER_ORDER and
CUSTOMER_ORDER_ITEM) and listing in the order they were placed. Must never parse requests or build responses.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from orders_model import Order, OrderItem

__all__ = ["OrderStore", "PostgresOrderStore", "SqliteOrderStore", "store_from_environment"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS retail_orders (seq {serial} PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " email TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS retail_order_items (order_id TEXT NOT NULL REFERENCES retail_orders(id),"
    " position INTEGER NOT NULL, product_id TEXT NOT NULL, name TEXT NOT NULL, quantity INTEGER NOT NULL,"
    " price INTEGER NOT NULL, total_cost INTEGER NOT NULL, PRIMARY KEY (order_id, position))",
)
_ORDER_ROWS = "SELECT id, email, first_name, last_name FROM retail_orders ORDER BY seq"
_ITEM_ROWS = (
    "SELECT order_id, product_id, name, quantity, price, total_cost FROM retail_order_items ORDER BY order_id, position"
)


class OrderStore(ABC):
    """Adds and lists orders; one per warm worker, reused across invocations (Lambda's init-once idiom)."""

    @abstractmethod
    def add(self, order: Order) -> None: ...

    @abstractmethod
    def list_orders(self) -> list[Order]: ...


def _item_rows(order: Order) -> list[tuple[Any, ...]]:
    return [
        (order.id, position, i.product_id, i.name, i.quantity, i.price, i.total_cost)
        for position, i in enumerate(order.items)
    ]


def _assemble(orders: Iterable[Sequence[Any]], items: Iterable[Sequence[Any]]) -> list[Order]:
    by_order: dict[str, list[OrderItem]] = {}
    for order_id, *fields in items:
        by_order.setdefault(order_id, []).append(OrderItem(*fields))
    return [Order(row[0], row[1], row[2], row[3], tuple(by_order.get(row[0], ()))) for row in orders]


class SqliteOrderStore(OrderStore):
    """One SQLite file in WAL mode, so readers never block the writer."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        for statement in _SCHEMA:
            self._db.execute(statement.format(serial="INTEGER"))

    def add(self, order: Order) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO retail_orders (id, email, first_name, last_name) VALUES (?, ?, ?, ?)",
                    (order.id, order.email, order.first_name, order.last_name),
                )
                self._db.executemany("INSERT INTO retail_order_items VALUES (?, ?, ?, ?, ?, ?, ?)", _item_rows(order))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def list_orders(self) -> list[Order]:
        with self._lock:
            return _assemble(self._db.execute(_ORDER_ROWS).fetchall(), self._db.execute(_ITEM_ROWS).fetchall())


class PostgresOrderStore(OrderStore):
    """PostgreSQL through psycopg 3; one connection, a transaction per call."""

    def __init__(self, url: str) -> None:
        import psycopg  # only needed when DATABASE_URL is set (the `postgres` extra)

        self._lock = threading.Lock()
        self._db = psycopg.connect(url, autocommit=False)
        with self._db.transaction():
            for statement in _SCHEMA:
                self._db.execute(statement.format(serial="BIGSERIAL"))

    def add(self, order: Order) -> None:
        with self._lock, self._db.transaction(), self._db.cursor() as cursor:
            cursor.execute(
                "INSERT INTO retail_orders (id, email, first_name, last_name) VALUES (%s, %s, %s, %s)",
                (order.id, order.email, order.first_name, order.last_name),
            )
            cursor.executemany("INSERT INTO retail_order_items VALUES (%s, %s, %s, %s, %s, %s, %s)", _item_rows(order))

    def list_orders(self) -> list[Order]:
        with self._lock, self._db.transaction():
            orders = self._db.execute(_ORDER_ROWS).fetchall()
            return _assemble(orders, self._db.execute(_ITEM_ROWS).fetchall())


def store_from_environment(environ: Mapping[str, str] | None = None) -> OrderStore:
    """PostgreSQL when DATABASE_URL is set, else SQLite at DATA_DIR/orders.db (DATA_DIR defaults to the
    system temp dir, the one writable place a real Lambda function has)."""
    env = os.environ if environ is None else environ
    if env.get("DATABASE_URL"):
        return PostgresOrderStore(env["DATABASE_URL"])
    data_dir = Path(env.get("DATA_DIR") or Path(tempfile.gettempdir()) / "retail-orders")
    return SqliteOrderStore(data_dir / "orders.db")
