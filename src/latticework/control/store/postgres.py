"""PostgreSQL store: the same schema and semantics as the SQLite store, for several control-plane replicas on
one database. Imported only when a `postgresql://` store URL is used (psycopg is the `postgres` extra).

- Serialised across replicas: every transaction starts with `pg_advisory_xact_lock` on a key derived from the
  schema name, so the backend's read-check-write logic (unique names, quotas, references) holds with any number
  of replicas, exactly as SQLite's BEGIN IMMEDIATE makes it hold across processes. Statements run at READ
  COMMITTED, so each one sees everything committed before the lock was granted.
- A commit that changed anything bumps `config_version` in the same transaction and sends
  `NOTIFY latticework_config, '<new version>'`, delivered to listeners when the commit lands. The channel is
  per database, not per schema: a listener treats a notification as a hint and reads `config_version()`.
- Isolation: `?schema=NAME` in the URL keeps the tables in that schema (created if missing); without it the
  tables live in the connection's current schema (`public`, or the first of `options=-csearch_path%3DNAME`).
- Documents are stored as JSON text (the shared encoding in `_sql`), not JSONB: JSONB reorders keys, turns a
  float such as 1e20 into an integer and rejects `\\u0000`, and a `Record` must read back exactly as written.
- The tables, statements and record mapping are the shared ones in `_sql`; this module gives the PostgreSQL
  dialect (`%s` placeholders, `RETURNING seq`, ON CONFLICT DO UPDATE for an idempotency entry) and owns the
  connection, the transaction boundaries, the lock, the meta rows and the notification.
- One connection per process (like the SQLite store), reopened once when the server dropped it.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from latticework.control.store import Store, Transaction
from latticework.control.store._sql import SqlTransaction, tables

__all__ = ["NOTIFY_CHANNEL", "PostgresStore", "split_schema"]

NOTIFY_CHANNEL = "latticework_config"

_SCHEMA = (
    tables("seq BIGSERIAL PRIMARY KEY") + "INSERT INTO meta VALUES ('config_version', '0') ON CONFLICT DO NOTHING\n"
)

_Connection = psycopg.Connection[tuple[Any, ...]]
_T = TypeVar("_T")


def split_schema(url: str) -> tuple[str, str | None]:
    """The libpq URL without our `schema` query parameter (libpq would reject it), and that schema. The other
    parameters are kept byte for byte (libpq's decoding differs from form decoding, e.g. for `+`)."""
    parts = urlsplit(url)
    pieces = [piece for piece in parts.query.split("&") if piece]
    schemas = [unquote(piece.partition("=")[2]) for piece in pieces if piece.partition("=")[0] == "schema"]
    rest = [piece for piece in pieces if piece.partition("=")[0] != "schema"]
    if schemas and not schemas[-1]:
        raise ValueError("the store URL's schema parameter is empty; give a schema name or leave it out")
    return urlunsplit(parts._replace(query="&".join(rest))), (schemas[-1] if schemas else None)


def _advisory_key(schema: str) -> int:
    """The advisory lock key of a schema's store: the same in every replica, distinct per schema."""
    digest = hashlib.blake2b(f"latticework:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresStore(Store):
    def __init__(self, url: str) -> None:
        self._conninfo, self._schema = split_schema(url)
        self._mutex = threading.Lock()  # one connection: transactions of this process take turns
        self._db = self._connect()
        try:
            self._lock_key = _advisory_key(self._schema or self._current_schema())
            self._create_schema()
            self._secret = bytes.fromhex(self._meta("secret"))
        except BaseException:
            self._db.close()
            raise

    def _connect(self) -> _Connection:
        db = psycopg.connect(self._conninfo, autocommit=True)
        try:
            if self._schema is not None:
                db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self._schema)))
        except BaseException:
            db.close()
            raise
        return db

    def _current_schema(self) -> str:
        row = self._db.execute("SELECT current_schema()").fetchone()
        if row is None or row[0] is None:
            raise ValueError(
                "the store URL's search_path names no existing schema; create it, or use ?schema=NAME "
                "(created when missing)"
            )
        return str(row[0])

    def _create_schema(self) -> None:
        """Tables, indexes and meta rows, under the store's lock so replicas starting together do not race."""
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            if self._schema is not None:
                self._db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self._schema)))
            self._db.execute(_SCHEMA)  # several statements: allowed without parameters
            self._db.execute("INSERT INTO meta VALUES ('secret', %s) ON CONFLICT DO NOTHING", (secrets.token_hex(32),))

    def _meta(self, key: str) -> str:
        def read(db: _Connection) -> str:
            row = db.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
            assert row is not None, f"meta row {key} is created with the schema"
            return str(row[0])

        return self._retrying(read)

    def _retrying(self, action: Callable[[_Connection], _T]) -> _T:
        """Run `action` on the connection; if the server dropped it (restart, idle kill), reconnect once."""
        try:
            return action(self._db)
        except psycopg.OperationalError:
            if not self._db.broken:
                raise
        self._db.close()
        self._db = self._connect()
        return action(self._db)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._mutex:
            db = self._retrying(self._begin)
            tx = _PostgresTransaction(db)
            try:
                yield tx
                if tx.changed:
                    _bump_version(db)
            except BaseException:
                if not db.broken:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _begin(self, db: _Connection) -> _Connection:
        # READ COMMITTED whatever the database default: each statement then sees what was committed before the
        # lock was granted (REPEATABLE READ would keep the snapshot taken before waiting for the lock).
        db.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        try:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
        except BaseException:
            if not db.broken:
                db.execute("ROLLBACK")
            raise
        return db

    def config_version(self) -> int:
        with self._mutex:
            return int(self._meta("config_version"))

    def secret(self) -> bytes:
        return self._secret

    def close(self) -> None:
        self._db.close()


def _bump_version(db: _Connection) -> None:
    row = db.execute(
        "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'config_version' RETURNING value"
    ).fetchone()
    assert row is not None, "the config_version row is created with the schema"
    db.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, row[0]))


class _PostgresTransaction(SqlTransaction[psycopg.Cursor[tuple[Any, ...]]]):
    placeholder = "%s"
    remember_sql = (  # `?` placeholders like every shared statement: translated to %s when run
        "INSERT INTO idempotency VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (account, region, operation, token) "
        "DO UPDATE SET digest = EXCLUDED.digest, response = EXCLUDED.response"
    )

    def _insert(self, query: str, args: Sequence[Any]) -> int:
        row = self._run(query + " RETURNING seq", args).fetchone()
        return int(row[0]) if row else 0
