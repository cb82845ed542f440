"""SQLite store (WAL). One connection per process; every write transaction is BEGIN IMMEDIATE, so writers are
serialised across processes too, and each commit that changed anything bumps `config_version`.

Durability: WAL with synchronous=NORMAL survives a killed process (kill -9) with every answered write intact;
`durable=True` selects synchronous=FULL, which also survives power loss at the price of an fsync per commit.

Owns the connection, its pragmas, the transaction boundaries, the meta rows and the SQLite dialect of the
shared SQL (`_sql`: tables, statements and record mapping live there): `?` placeholders, the new row's seq
from `lastrowid`, and INSERT OR REPLACE for an idempotency entry.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from latticework.control.store import Record, Store, Transaction
from latticework.control.store._sql import SqlTransaction, tables

__all__ = ["SqliteStore"]

_SCHEMA = (
    tables("seq INTEGER PRIMARY KEY AUTOINCREMENT") + "INSERT OR IGNORE INTO meta VALUES ('config_version', '0');\n"
)


class SqliteStore(Store):
    def __init__(self, path: str | Path, *, durable: bool = False) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._db.executescript(_SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('secret', ?)", (secrets.token_hex(32),))
        self._secret = bytes.fromhex(self._meta("secret"))

    def _meta(self, key: str) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0])

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        self._db.execute("BEGIN IMMEDIATE")
        tx = _SqliteTransaction(self._db)
        try:
            yield tx
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        if tx.changed:
            self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'config_version'")
        self._db.execute("COMMIT")

    def read_all(self, kinds: Sequence[str]) -> tuple[int, list[Record]]:
        """A deferred (read) transaction: in WAL mode it sees one consistent snapshot without taking the write
        lock, so a large data-plane read never holds up API writes."""
        self._db.execute("BEGIN")
        try:
            tx = _SqliteTransaction(self._db)
            return tx.version(), tx.scan(kinds)
        finally:
            self._db.execute("COMMIT")

    def config_version(self) -> int:
        return int(self._meta("config_version"))

    def secret(self) -> bytes:
        return self._secret

    def close(self) -> None:
        self._db.close()


class _SqliteTransaction(SqlTransaction[sqlite3.Cursor]):
    placeholder = "?"
    remember_sql = "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?)"

    def _insert(self, query: str, args: Sequence[Any]) -> int:
        return int(self._run(query, args).lastrowid or 0)
