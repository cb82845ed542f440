"""PostgreSQL for the tests that need it (the `postgres` marker): where it is (LATTICEWORK_TEST_POSTGRES, default
postgresql://postgres@127.0.0.1:5432/test), a fresh schema per test, and an admin connection. A test skips,
saying why, when PostgreSQL does not answer or the postgres extra is not installed."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from latticework.control.store.factory import redact

PG_BASE = os.environ.get("LATTICEWORK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_answers() -> bool:
    parts = urlsplit(PG_BASE)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=2):
            return True
    except OSError:
        return False


def admin(sql: str, *args: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(PG_BASE, autocommit=True) as db:
        cursor = db.execute(sql.encode(), args)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh schema name for one test; the schema (made by the store) is dropped afterwards."""
    if not postgres_answers():
        pytest.skip(f"PostgreSQL does not answer at {redact(PG_BASE)} (set LATTICEWORK_TEST_POSTGRES)")
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    schema = f"lw_test_{uuid.uuid4().hex[:12]}"
    yield schema
    admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_url(pg_schema: str) -> str:
    """The test's store URL; its application_name tells the test's connections apart in pg_stat_activity."""
    return f"{PG_BASE}?schema={pg_schema}&application_name=lw_{pg_schema}"
