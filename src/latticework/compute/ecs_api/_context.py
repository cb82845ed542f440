"""What every ECS operation works with: the open store transaction, the caller, the clock reading, and finding
clusters, task definitions, services and tasks by any name the API accepts (name, ID or ARN).

No I/O of its own beyond the transaction it is handed.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from latticework.compute.ecs_api.errors import (
    ClientException,
    ClusterNotFoundException,
    InvalidParameterException,
    ServiceNotFoundException,
)
from latticework.compute.services import model
from latticework.control.backend import Caller
from latticework.control.store import Record, Transaction

__all__ = ["DEFAULT_CLUSTER", "EcsCtx", "page_of", "tags_of"]

# ECS API reference, every `cluster` member: "If you do not specify a cluster, the default cluster is assumed."
DEFAULT_CLUSTER = "default"
_TASKDEF = re.compile(r"(?:arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/)?([A-Za-z0-9_-]{1,255})(?::(\d+))?")


@dataclass(slots=True)
class EcsCtx:
    tx: Transaction
    caller: Caller
    now: float

    def cluster(self, identifier: str | None, *, active: bool = True) -> Record:
        """The cluster a `cluster` member names (default: `default`); ClusterNotFoundException otherwise."""
        name = _last(identifier or DEFAULT_CLUSTER)
        record = self.tx.get(model.CLUSTER_KIND, self.caller.account, self.caller.region, name)
        if record is None or (active and record.doc["status"] != "ACTIVE"):
            raise ClusterNotFoundException()
        return record

    def taskdef(self, identifier: str) -> Record:
        """`family` (its latest ACTIVE revision), `family:revision` or the full ARN."""
        match = _TASKDEF.fullmatch(identifier)
        if match is None:
            raise ClientException(f"Invalid task definition '{identifier}': give family, family:revision or an ARN.")
        family, revision = match.group(1), match.group(2)
        if revision is not None:
            record = self.tx.get(model.TASKDEF_KIND, self.caller.account, self.caller.region, f"{family}:{revision}")
        else:
            found = self.tx.find(model.TASKDEF_KIND, self.caller.account, self.caller.region, name=family)
            active = [r for r in found if r.doc["status"] == "ACTIVE"]
            record = max(active, key=lambda r: int(r.doc["revision"])) if active else None
        if record is None:
            raise ClientException("Unable to describe task definition.")
        return record

    def service(self, cluster: Record, identifier: str) -> Record:
        record = self.find_service(cluster, identifier)
        if record is None:
            raise ServiceNotFoundException()
        return record

    def find_service(self, cluster: Record, identifier: str) -> Record | None:
        key = f"{cluster.id}/{_last(identifier)}"
        return self.tx.get(model.SERVICE_KIND, self.caller.account, self.caller.region, key)

    def find_task(self, cluster: Record, identifier: str) -> Record | None:
        key = f"{cluster.id}/{_last(identifier)}"
        return self.tx.get(model.TASK_KIND, self.caller.account, self.caller.region, key)

    def arn(self, kind: str, *parts: str) -> str:
        return f"arn:aws:ecs:{self.caller.region}:{self.caller.account}:{kind}/{'/'.join(parts)}"


def _last(identifier: str) -> str:
    """The name or ID at the end of an ARN (`.../cluster/NAME`, `.../service/CLUSTER/NAME`), or the text itself."""
    return identifier.rsplit("/", 1)[-1] if identifier.startswith("arn:") else identifier


def tags_of(doc: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """`tags` only when the caller asked for them with include=[TAGS] (ECS Describe* operations)."""
    return {"tags": doc.get("tags") or []} if "TAGS" in (params.get("include") or []) else {}


def page_of(items: list[str], params: dict[str, Any], default: int = 100) -> dict[str, Any]:
    """One page of ARNs and the token for the next (an opaque offset)."""
    limit = params.get("maxResults") or default
    start = _offset(params.get("nextToken"))
    result: dict[str, Any] = {"items": items[start : start + limit]}
    if start + limit < len(items):
        result["nextToken"] = base64.urlsafe_b64encode(f"offset:{start + limit}".encode()).decode()
    return result


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError:
        text = ""
    if not text.startswith("offset:") or not text[7:].isdigit():
        raise InvalidParameterException("Invalid nextToken: it was not returned by this API.")
    return int(text[7:])
