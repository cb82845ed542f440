"""Stack records: what a deploy leaves behind (template, parameters, resources with their physical IDs and
resolved properties, outputs and exports), kept in the control plane's store as records of kind `stack`, so
`latticework down` and the next `up` (update by diff) find them, and other stacks can import the exports.

`StoreStacks` writes them with `config=False` (a stack record is not data-plane configuration);
`MemoryStacks` is the in-memory sibling for tests.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from typing import Any

from latticework.control.store import Record, Store

__all__ = ["MemoryStacks", "StackStore", "StoreStacks", "new_stack_id"]

KIND = "stack"


def new_stack_id(account: str, region: str, name: str) -> str:
    return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/{uuid.uuid4()}"


class StackStore(ABC):
    """Stack documents by name, in one account and region."""

    @abstractmethod
    def get(self, name: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def put(self, doc: dict[str, Any]) -> None: ...

    @abstractmethod
    def remove(self, name: str) -> None: ...

    @abstractmethod
    def all(self) -> list[dict[str, Any]]:
        """Every stack, oldest first."""

    def exports(self, excluding: str = "") -> dict[str, Any]:
        """Export name -> value over every other stack (Fn::ImportValue)."""
        found: dict[str, Any] = {}
        for doc in self.all():
            if doc["StackName"] != excluding:
                found.update(doc.get("Exports", {}))
        return found

    def importers(self, export_names: set[str]) -> list[str]:
        """Stacks that import any of these exports (CFN refuses to delete an export in use)."""
        return [doc["StackName"] for doc in self.all() if export_names & set(doc.get("Imports", []))]


class MemoryStacks(StackStore):
    def __init__(self) -> None:
        self._docs: dict[str, dict[str, Any]] = {}

    def get(self, name: str) -> dict[str, Any] | None:
        return self._docs.get(name)

    def put(self, doc: dict[str, Any]) -> None:
        self._docs[doc["StackName"]] = doc

    def remove(self, name: str) -> None:
        self._docs.pop(name, None)

    def all(self) -> list[dict[str, Any]]:
        return list(self._docs.values())


class StoreStacks(StackStore):
    def __init__(self, store: Store, account: str, region: str) -> None:
        self._store, self._account, self._region = store, account, region

    def get(self, name: str) -> dict[str, Any] | None:
        with self._store.transaction() as tx:
            found = tx.find(KIND, self._account, self._region, name=name)
        return found[0].doc if found else None

    def put(self, doc: dict[str, Any]) -> None:
        with self._store.transaction() as tx:
            found = tx.find(KIND, self._account, self._region, name=doc["StackName"])
            record = (
                found[0] if found else Record(KIND, self._account, self._region, doc["StackId"], doc["StackId"], {})
            )
            record.doc, record.name = doc, doc["StackName"]
            tx.put(record, config=False)

    def remove(self, name: str) -> None:
        with self._store.transaction() as tx:
            for record in tx.find(KIND, self._account, self._region, name=name):
                tx.delete(record)

    def all(self) -> list[dict[str, Any]]:
        with self._store.transaction() as tx:
            return [record.doc for record in tx.find(KIND, self._account, self._region)]
