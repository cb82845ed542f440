"""Where checkouts live between steps: SQLite (DATA_DIR/checkout.db) by default, Redis when REDIS_URL is set
(REDIS_READER_URL for reads, as 0.4.0's RedisCheckoutRepository), or memory for tests.

Owns: key = the raw customer id, value = the Checkout as a JSON string, no expiry, deleted on submit (reference
retail-store-2023 2.2). Must never price or validate anything.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

__all__ = [
    "CheckoutRepository",
    "MemoryCheckoutRepository",
    "RedisCheckoutRepository",
    "SqliteCheckoutRepository",
    "repository_from_environment",
]


class CheckoutRepository(ABC):
    @abstractmethod
    async def get(self, customer_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    async def put(self, customer_id: str, checkout: dict[str, Any]) -> None: ...

    @abstractmethod
    async def delete(self, customer_id: str) -> None: ...

    async def close(self) -> None:  # noqa: B027  (an optional hook: not every backend holds connections)
        """Release connections; the app calls it on shutdown."""


class MemoryCheckoutRepository(CheckoutRepository):
    """0.4.0's InMemoryCheckoutRepository: lost on restart; stores JSON text so callers never share objects."""

    def __init__(self) -> None:
        self._checkouts: dict[str, str] = {}

    async def get(self, customer_id: str) -> dict[str, Any] | None:
        text = self._checkouts.get(customer_id)
        return None if text is None else json.loads(text)

    async def put(self, customer_id: str, checkout: dict[str, Any]) -> None:
        self._checkouts[customer_id] = json.dumps(checkout)

    async def delete(self, customer_id: str) -> None:
        self._checkouts.pop(customer_id, None)


class SqliteCheckoutRepository(CheckoutRepository):
    """A key-value table in one SQLite file (WAL); calls run in the thread pool to keep the loop free."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("CREATE TABLE IF NOT EXISTS checkouts (customer_id TEXT PRIMARY KEY, body TEXT NOT NULL)")

    def _run(self, sql: str, *args: str) -> list[tuple[str]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    async def get(self, customer_id: str) -> dict[str, Any] | None:
        rows = await run_in_threadpool(self._run, "SELECT body FROM checkouts WHERE customer_id = ?", customer_id)
        return json.loads(rows[0][0]) if rows else None

    async def put(self, customer_id: str, checkout: dict[str, Any]) -> None:
        sql = "INSERT OR REPLACE INTO checkouts (customer_id, body) VALUES (?, ?)"
        await run_in_threadpool(self._run, sql, customer_id, json.dumps(checkout))

    async def delete(self, customer_id: str) -> None:
        await run_in_threadpool(self._run, "DELETE FROM checkouts WHERE customer_id = ?", customer_id)

    async def close(self) -> None:
        self._db.close()


class RedisCheckoutRepository(CheckoutRepository):
    """SET key JSON (no TTL), GET from the reader, DEL on submit: 0.4.0's RedisCheckoutRepository."""

    def __init__(self, url: str, reader_url: str | None = None) -> None:
        from redis.asyncio import Redis  # only needed when REDIS_URL is set

        self._writer = Redis.from_url(url, decode_responses=True)
        self._reader = Redis.from_url(reader_url, decode_responses=True) if reader_url else self._writer

    async def get(self, customer_id: str) -> dict[str, Any] | None:
        text = await self._reader.get(customer_id)
        return None if text is None else json.loads(text)

    async def put(self, customer_id: str, checkout: dict[str, Any]) -> None:
        await self._writer.set(customer_id, json.dumps(checkout))

    async def delete(self, customer_id: str) -> None:
        await self._writer.delete(customer_id)

    async def close(self) -> None:
        await self._writer.aclose()
        if self._reader is not self._writer:
            await self._reader.aclose()


def repository_from_environment(environ: Mapping[str, str] | None = None) -> CheckoutRepository:
    """Redis when REDIS_URL is set, else SQLite at DATA_DIR/checkout.db (DATA_DIR defaults to a temp dir)."""
    env = os.environ if environ is None else environ
    if env.get("REDIS_URL"):
        return RedisCheckoutRepository(env["REDIS_URL"], env.get("REDIS_READER_URL") or None)
    data_dir = Path(env.get("DATA_DIR") or Path(tempfile.gettempdir()) / "retail-checkout")
    return SqliteCheckoutRepository(data_dir / "checkout.db")
