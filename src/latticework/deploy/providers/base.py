"""The provider interface: one `Provider` per resource type turns resolved properties into real resources
through the control plane's API, and back. `Applied` is what the stack record keeps of a resource.

Also the property converter: CloudFormation's PascalCase properties -> an API operation's input, driven by
botocore's service model (member names matched case-insensitively, scalars coerced to the member's type,
Key/Value tag lists turned into maps where the API wants a map, JSON documents serialised where it wants a
string). No I/O here: providers get their clients from the `Context` the shell hands them.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from latticework.deploy.errors import TemplateError

__all__ = ["Applied", "Context", "Provider", "dig", "to_api"]


@dataclass(frozen=True, slots=True)
class Applied:
    """A resource as it exists: its physical ID, what Ref returns, and its GetAtt attributes."""

    physical_id: str
    ref: Any
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"PhysicalId": self.physical_id, "Ref": self.ref, "Attributes": dict(self.attributes)}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Applied:
        return cls(doc["PhysicalId"], doc["Ref"], doc.get("Attributes", {}))


@dataclass(frozen=True, slots=True)
class Context:
    """What providers may use: API clients by service name (botocore clients against the server), the local
    CA's directory, the template's directory (relative code paths), and the caller's account and region."""

    client: Callable[[str], Any]
    state_dir: Path
    template_dir: Path
    account: str
    region: str
    stack_name: str
    python: str = "python3"


class Provider(ABC):
    """One resource type. `mutable` lists the properties `update` can change in place; a change to any other
    property replaces the resource (CFN "Update behaviors of stack resources": Replacement)."""

    type_name: ClassVar[str]
    mutable: ClassVar[frozenset[str]] = frozenset()
    simulated: ClassVar[bool] = False

    @abstractmethod
    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied: ...

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        raise NotImplementedError(f"{self.type_name} cannot be updated in place")

    @abstractmethod
    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None: ...

    def waiting_for(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> str | None:
        """Why the resource is not ready yet (tasks starting, targets not healthy), or None when it is."""
        return None

    def needs_replacement(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        changed = {key for key in set(old) | set(new) if old.get(key) != new.get(key)}
        return bool(changed - self.mutable)


def dig(doc: Mapping[str, Any], path: str) -> Any:
    """`doc["a"]["b"]` for path "a.b" (None where a step is missing)."""
    node: Any = doc
    for step in path.split("."):
        node = node.get(step) if isinstance(node, Mapping) else None
    return node


# -- CloudFormation properties -> API input ------------------------------------------------------------------


def to_api(value: Any, shape: Any, where: str) -> Any:
    """Convert a resolved CFN value to the input `shape` (a botocore Shape) wants."""
    kind = shape.type_name
    if kind == "structure":
        return _structure(value, shape, where)
    if kind == "list":
        if not isinstance(value, list):
            value = [value]
        return [to_api(item, shape.member, f"{where}.{index}") for index, item in enumerate(value)]
    if kind == "map":
        return _map(value, shape, where)
    return _scalar(value, kind, where)


def _structure(value: Any, shape: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TemplateError(f"expected a mapping, got {value!r}", where)
    members = {name.lower(): name for name in shape.members}
    converted: dict[str, Any] = {}
    for key, item in value.items():
        name = members.get(key.lower())
        if name is None:
            known = ", ".join(_pascal(member) for member in shape.members)
            raise TemplateError(f"unknown property {key!r} (known: {known})", where)
        converted[name] = to_api(item, shape.members[name], f"{where}.{key}")
    return converted


def _map(value: Any, shape: Any, where: str) -> dict[str, Any]:
    # CFN writes tags as [{Key, Value}]; Lattice's API takes a map.
    if isinstance(value, list):
        value = {entry["Key"]: entry.get("Value", "") for entry in value}
    if not isinstance(value, Mapping):
        raise TemplateError(f"expected a mapping, got {value!r}", where)
    return {str(key): to_api(item, shape.value, f"{where}.{key}") for key, item in value.items()}


def _scalar(value: Any, kind: str, where: str) -> Any:
    try:
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("float", "double"):
            return float(value)
        if kind == "boolean":
            return value if isinstance(value, bool) else str(value).lower() == "true"
    except (TypeError, ValueError):
        raise TemplateError(f"expected a {kind}, got {value!r}", where) from None
    if kind == "blob":
        return value.encode() if isinstance(value, str) else value
    if kind == "string":
        return _string(value)
    return value


def _string(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)  # policy documents written as YAML objects
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]
