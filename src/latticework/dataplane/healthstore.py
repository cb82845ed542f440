"""Writes target health back to the store, where ListTargets reads it (DESIGN section 3: the data plane writes
the store only for target health and access logs). A health change is not configuration: it does not bump the
config version, so nothing reloads because a target changed state."""

from __future__ import annotations

import logging
from collections.abc import Callable

from latticework.control.backend._kinds import parse_arn
from latticework.control.store import Store
from latticework.dataplane.healthcheck import HealthSink
from latticework.dataplane.snapshot import Snapshot, TargetView

__all__ = ["StoreHealthSink"]

log = logging.getLogger(__name__)


class StoreHealthSink(HealthSink):
    def __init__(self, store: Store, snapshot: Callable[[], Snapshot]) -> None:
        self.store = store
        self.snapshot = snapshot

    def record(self, target_group_id: str, target: TargetView, status: str, reason: str | None) -> None:
        group = self.snapshot().target_groups.get(target_group_id)
        parsed = parse_arn(group.arn) if group else None
        if parsed is None:
            return
        _, region, account, _ = parsed
        record_id = f"{target_group_id}/{target.id}:{target.port if target.port is not None else ''}"
        with self.store.transaction() as tx:
            stored = tx.get("target", account, region, record_id)
            # A check that ends just after DeregisterTargets must not undo the draining.
            if stored is None or stored.doc.get("status") == "DRAINING":
                return
            stored.doc["status"] = status
            if reason:
                stored.doc["reasonCode"] = reason
            else:
                stored.doc.pop("reasonCode", None)
            tx.put(stored, config=False)
