"""SQLite store (WAL). One connection per process; every write transaction is BEGIN IMMEDIATE, so writers are
serialised across processes too, and each commit that changed anything bumps `config_version`.

Durability: WAL with synchronous=NORMAL survives a killed process (kill -9) with every answered write intact;
`durable=True` selects synchronous=FULL, which also survives power loss at the price of an fsync per commit.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from latticework.control.store import Record, Store, Transaction

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
  arn TEXT NOT NULL, name TEXT, parent TEXT, ref TEXT, doc TEXT NOT NULL,
  UNIQUE (kind, account, region, id)
);
CREATE INDEX IF NOT EXISTS resources_arn ON resources (arn);
CREATE INDEX IF NOT EXISTS resources_kind ON resources (kind, account, region, seq);
CREATE INDEX IF NOT EXISTS resources_parent ON resources (kind, account, region, parent, seq);
CREATE INDEX IF NOT EXISTS resources_ref ON resources (kind, account, region, ref, seq);
CREATE INDEX IF NOT EXISTS resources_name ON resources (kind, account, region, name);
CREATE TABLE IF NOT EXISTS idempotency (
  account TEXT NOT NULL, region TEXT NOT NULL, operation TEXT NOT NULL, token TEXT NOT NULL,
  digest TEXT NOT NULL, response TEXT NOT NULL,
  PRIMARY KEY (account, region, operation, token)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('config_version', '0');
"""

_COLUMNS = "seq, kind, account, region, id, arn, name, parent, ref, doc"


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

    def config_version(self) -> int:
        return int(self._meta("config_version"))

    def secret(self) -> bytes:
        return self._secret

    def close(self) -> None:
        self._db.close()


class _SqliteTransaction(Transaction):
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self.changed = False

    def get(self, kind: str, account: str, region: str, id: str) -> Record | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM resources WHERE kind=? AND account=? AND region=? AND id=?",
            (kind, account, region, id),
        ).fetchone()
        return _record(row) if row else None

    def get_by_arn(self, arn: str) -> Record | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM resources WHERE arn=?", (arn,)).fetchone()
        return _record(row) if row else None

    def find(
        self,
        kind: str,
        account: str,
        region: str,
        *,
        name: str | None = None,
        parent: str | None = None,
        ref: str | None = None,
        after: int = 0,
        limit: int | None = None,
    ) -> list[Record]:
        where, args = _where(kind, account, region, name=name, parent=parent, ref=ref)
        sql = f"SELECT {_COLUMNS} FROM resources WHERE {where} AND seq > ? ORDER BY seq"
        args.append(after)
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_record(row) for row in self._db.execute(sql, args)]

    def count(self, kind: str, account: str, region: str, *, parent: str | None = None, ref: str | None = None) -> int:
        where, args = _where(kind, account, region, parent=parent, ref=ref)
        return int(self._db.execute(f"SELECT COUNT(*) FROM resources WHERE {where}", args).fetchone()[0])

    def put(self, record: Record) -> Record:
        self.changed = True
        doc = json.dumps(record.doc, separators=(",", ":"))
        if record.seq:
            self._db.execute(
                "UPDATE resources SET doc=?, name=?, parent=?, ref=?, arn=? WHERE seq=?",
                (doc, record.name, record.parent, record.ref, record.arn, record.seq),
            )
            return record
        cursor = self._db.execute(
            "INSERT INTO resources (kind, account, region, id, arn, name, parent, ref, doc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.kind,
                record.account,
                record.region,
                record.id,
                record.arn,
                record.name,
                record.parent,
                record.ref,
                doc,
            ),
        )
        record.seq = int(cursor.lastrowid or 0)
        return record

    def delete(self, record: Record) -> None:
        self.changed = True
        self._db.execute(
            "DELETE FROM resources WHERE kind=? AND account=? AND region=? AND id=?",
            (record.kind, record.account, record.region, record.id),
        )

    def idempotent_result(self, key: tuple[str, str, str, str]) -> tuple[str, str] | None:
        row = self._db.execute(
            "SELECT digest, response FROM idempotency WHERE account=? AND region=? AND operation=? AND token=?",
            key,
        ).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def remember_result(self, key: tuple[str, str, str, str], digest: str, response: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?)", (*key, digest, response))


def _where(kind: str, account: str, region: str, **columns: str | None) -> tuple[str, list[Any]]:
    clauses = ["kind=?", "account=?", "region=?"]
    args: list[Any] = [kind, account, region]
    for column, value in columns.items():
        if value is not None:
            clauses.append(f"{column}=?")
            args.append(value)
    return " AND ".join(clauses), args


def _record(row: Any) -> Record:
    seq, kind, account, region, id, arn, name, parent, ref, doc = row
    return Record(kind, account, region, id, arn, json.loads(doc), name, parent, ref, seq)
