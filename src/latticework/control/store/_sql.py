"""The SQL both stores share: the tables, and one `Transaction` over them written once for SQLite and
PostgreSQL.

Owns the schema's tables and indexes (`tables`), every statement a transaction runs, the row <-> `Record`
mapping and the document encoding: compact JSON text in a TEXT column, so a document reads back exactly as it
was written (key order, floats, `\\u0000`). A store subclasses `SqlTransaction` to give only its dialect: the
parameter placeholder, how an insert reports the new row's `seq`, and how an idempotency entry replaces an
older one. Statements are written with `?` placeholders and translated to the dialect's.

Never here: connections, BEGIN/COMMIT, locking, the config version or the meta rows; the stores own those.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from latticework.control.store import Record, Transaction

__all__ = ["SqlTransaction", "tables"]

_TABLES = """
CREATE TABLE IF NOT EXISTS resources (
  {seq_column},
  kind TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
  arn TEXT NOT NULL, name TEXT, parent TEXT, ref TEXT, doc TEXT NOT NULL,
  UNIQUE (kind, account, region, id)
);
CREATE INDEX IF NOT EXISTS resources_arn ON resources (arn);
CREATE INDEX IF NOT EXISTS resources_kind ON resources (kind, account, region, seq);
CREATE INDEX IF NOT EXISTS resources_parent ON resources (kind, account, region, parent, seq);
CREATE INDEX IF NOT EXISTS resources_ref ON resources (kind, account, region, ref, seq);
CREATE INDEX IF NOT EXISTS resources_name ON resources (kind, account, region, name);
CREATE INDEX IF NOT EXISTS resources_parent_name ON resources (kind, account, region, parent, name);
CREATE TABLE IF NOT EXISTS idempotency (
  account TEXT NOT NULL, region TEXT NOT NULL, operation TEXT NOT NULL, token TEXT NOT NULL,
  digest TEXT NOT NULL, response TEXT NOT NULL,
  PRIMARY KEY (account, region, operation, token)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_COLUMNS = "seq, kind, account, region, id, arn, name, parent, ref, doc"
_INSERT = (
    "INSERT INTO resources (kind, account, region, id, arn, name, parent, ref, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def tables(seq_column: str) -> str:
    """The CREATE statements of every table and index (idempotent); `seq_column` declares the dialect's
    auto-incrementing `seq` primary key. The meta rows are the store's to insert."""
    return _TABLES.format(seq_column=seq_column)


class Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


_CursorT = TypeVar("_CursorT", bound=Cursor)
_CursorT_co = TypeVar("_CursorT_co", bound=Cursor, covariant=True)


class Connection(Protocol[_CursorT_co]):
    """What the transaction needs of a DB-API connection (sqlite3's and psycopg's both fit)."""

    def execute(self, query: str, params: Sequence[Any], /) -> _CursorT_co: ...


class SqlTransaction(Transaction, Generic[_CursorT]):
    """The `Transaction` over the shared tables, on a connection the store has already begun a transaction on.
    `changed` tells the store whether to bump the config version on commit."""

    placeholder: ClassVar[str]  # the driver's parameter marker: "?" (sqlite3) or "%s" (psycopg)
    remember_sql: ClassVar[str]  # inserts an idempotency row (6 `?`), replacing one with the same key

    def __init__(self, db: Connection[_CursorT]) -> None:
        self._db = db
        self.changed = False

    @abstractmethod
    def _insert(self, query: str, args: Sequence[Any]) -> int:
        """Run the resources INSERT `query` (`?` placeholders) and return the new row's seq."""

    def _run(self, query: str, args: Sequence[Any]) -> _CursorT:
        return self._db.execute(query.replace("?", self.placeholder), args)

    def get(self, kind: str, account: str, region: str, id: str) -> Record | None:
        query = f"SELECT {_COLUMNS} FROM resources WHERE kind=? AND account=? AND region=? AND id=?"
        row = self._run(query, (kind, account, region, id)).fetchone()
        return _record(row) if row else None

    def get_by_arn(self, arn: str) -> Record | None:
        row = self._run(f"SELECT {_COLUMNS} FROM resources WHERE arn=?", (arn,)).fetchone()
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
        query = f"SELECT {_COLUMNS} FROM resources WHERE {where} AND seq > ? ORDER BY seq"
        args.append(after)
        if limit is not None:
            query += " LIMIT ?"
            args.append(limit)
        return [_record(row) for row in self._run(query, args)]

    def count(self, kind: str, account: str, region: str, *, parent: str | None = None, ref: str | None = None) -> int:
        where, args = _where(kind, account, region, parent=parent, ref=ref)
        row = self._run(f"SELECT COUNT(*) FROM resources WHERE {where}", args).fetchone()
        return int(row[0]) if row else 0

    def scan(self, kinds: Sequence[str]) -> list[Record]:
        marks = ", ".join("?" for _ in kinds)
        return [_record(row) for row in self._run(f"SELECT {_COLUMNS} FROM resources WHERE kind IN ({marks})", kinds)]

    def version(self) -> int:
        row = self._run("SELECT value FROM meta WHERE key = 'config_version'", ()).fetchone()
        return int(row[0]) if row else 0

    def put(self, record: Record, *, config: bool = True) -> Record:
        self.changed = self.changed or config
        doc = _encode(record.doc)
        if record.seq:
            self._run(
                "UPDATE resources SET doc=?, name=?, parent=?, ref=?, arn=? WHERE seq=?",
                (doc, record.name, record.parent, record.ref, record.arn, record.seq),
            )
            return record
        columns = (record.kind, record.account, record.region, record.id, record.arn)
        record.seq = self._insert(_INSERT, (*columns, record.name, record.parent, record.ref, doc))
        return record

    def delete(self, record: Record) -> None:
        self.changed = True
        self._run(
            "DELETE FROM resources WHERE kind=? AND account=? AND region=? AND id=?",
            (record.kind, record.account, record.region, record.id),
        )

    def idempotent_result(self, key: tuple[str, str, str, str]) -> tuple[str, str] | None:
        query = "SELECT digest, response FROM idempotency WHERE account=? AND region=? AND operation=? AND token=?"
        row = self._run(query, key).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def remember_result(self, key: tuple[str, str, str, str], digest: str, response: str) -> None:
        # not configuration: a remembered answer leaves `changed` alone, so the data plane has nothing to reload
        self._run(self.remember_sql, (*key, digest, response))


def _where(kind: str, account: str, region: str, **columns: str | None) -> tuple[str, list[Any]]:
    clauses = ["kind=?", "account=?", "region=?"]
    args: list[Any] = [kind, account, region]
    for column, value in columns.items():
        if value is not None:
            clauses.append(f"{column}=?")
            args.append(value)
    return " AND ".join(clauses), args


def _encode(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"))


def _record(row: Sequence[Any]) -> Record:
    seq, kind, account, region, id, arn, name, parent, ref, doc = row
    return Record(kind, account, region, id, arn, json.loads(doc), name, parent, ref, int(seq))
