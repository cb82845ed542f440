"""The store: the only truth of the control plane.

Owns the record model and the interface every store implements: a transaction that reads and writes
resource records and idempotency entries, and a config version that every committed change bumps and that a
reader (the data plane) can check cheaply. `SqliteStore` is the default (WAL, in the state dir; `:memory:` is
the in-memory sibling for tests); a PostgreSQL store satisfies the same ABC.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

__all__ = ["Record", "Store", "Transaction"]


@dataclass(slots=True)
class Record:
    """One resource: the indexed columns plus its document (the API fields, JSON-serialisable)."""

    kind: str
    account: str
    region: str
    id: str
    arn: str
    doc: dict[str, Any]
    name: str | None = None
    parent: str | None = None
    ref: str | None = None
    seq: int = 0


class Transaction(ABC):
    """Reads and writes inside one atomic, serialised unit of work."""

    @abstractmethod
    def get(self, kind: str, account: str, region: str, id: str) -> Record | None: ...

    @abstractmethod
    def get_by_arn(self, arn: str) -> Record | None: ...

    @abstractmethod
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
        """Records of a kind matching every given column, in creation order, after sequence `after`."""

    @abstractmethod
    def count(
        self, kind: str, account: str, region: str, *, parent: str | None = None, ref: str | None = None
    ) -> int: ...

    @abstractmethod
    def scan(self, kinds: Sequence[str]) -> list[Record]:
        """Every record of these kinds, in every account and region (what a data-plane snapshot is built from)."""

    @abstractmethod
    def version(self) -> int:
        """The config version as of this transaction."""

    @abstractmethod
    def put(self, record: Record, *, config: bool = True) -> Record:
        """Insert (seq 0) or replace the record; returns it with its sequence number. `config=False` marks a
        write that is not configuration (target health written back by the data plane): it does not bump the
        config version, so the data plane has nothing to reload."""

    @abstractmethod
    def delete(self, record: Record) -> None: ...

    @abstractmethod
    def idempotent_result(self, key: tuple[str, str, str, str]) -> tuple[str, str] | None:
        """(parameter digest, response JSON) stored for (account, region, operation, token)."""

    @abstractmethod
    def remember_result(self, key: tuple[str, str, str, str], digest: str, response: str) -> None: ...


class Store(ABC):
    @abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """A serialised read-write transaction; commits on normal exit, rolls back on an exception."""

    @abstractmethod
    def config_version(self) -> int:
        """A number that grows with every committed change (cheap to read)."""

    @abstractmethod
    def secret(self) -> bytes:
        """A per-store random key (for signing pagination tokens), the same for every replica."""

    @abstractmethod
    def close(self) -> None: ...

    def read_all(self, kinds: Sequence[str]) -> tuple[int, list[Record]]:
        """One consistent read of every record of these kinds, with the config version it is at."""
        with self.transaction() as tx:
            return tx.version(), tx.scan(kinds)
