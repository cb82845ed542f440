"""Keeps the data plane's snapshot in step with the store (DESIGN section 3).

A cheap config-version read each poll; a full read and recompile only when the version moved; the new snapshot
is swapped in whole, so a request keeps the snapshot it started with. If the store cannot be read, the last
snapshot keeps serving (AWS's static stability) and the failure is logged once per outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from latticework.control.store import Store
from latticework.dataplane.snapshot import KINDS, compile_snapshot

__all__ = ["ConfigFollower"]

log = logging.getLogger(__name__)


class ConfigFollower:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.snapshot = compile_snapshot(0, (), clock())
        self.healthy_store = True

    def refresh(self) -> bool:
        """Reload if the config version moved, or if a resource of the current snapshot has settled from
        CREATE_IN_PROGRESS to ACTIVE since. True when a new snapshot was swapped in."""
        try:
            version = self.store.config_version()
            now = self.clock()
            settles_at = self.snapshot.settles_at
            if version == self.snapshot.version and (settles_at is None or now < settles_at):
                return False
            version, records = self.store.read_all(KINDS)
        except Exception:
            if self.healthy_store:
                log.exception("store unreadable; serving config version %d until it is back", self.snapshot.version)
            self.healthy_store = False
            return False
        self.healthy_store = True
        self.snapshot = compile_snapshot(version, records, now)
        return True
