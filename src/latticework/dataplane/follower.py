"""Keeps the data plane's snapshot in step with the store (DESIGN section 3).

A cheap config-version read each poll; a full read and recompile only when the version moved; the new snapshot
is swapped in whole, so a request keeps the snapshot it started with. If the store cannot be read, the last
snapshot keeps serving (AWS's static stability) and the failure is logged once per outage.

A recompile also keeps Python's cyclic garbage collector out of traffic's way. Left alone, building a snapshot
of thousands of services (hundreds of thousands of objects) set off two or three full collections per
recompile, each holding the GIL over the whole heap (150-220 ms at 10,000 services, measured): every request in
flight stalled meanwhile. So the collector is paused while the snapshot is read and compiled, and afterwards the
whole heap is frozen (`gc.freeze`, which moves the generations' lists, no walk): what is frozen is left to
reference counting, which frees an old snapshot (acyclic) when it is dropped, and no full collection walks the
snapshot again. Cyclic garbage frozen with it waits: every `_UNFREEZE_EVERY`-th recompile unfreezes instead, so
the next full collection sees everything, and what freezing can hold back is bounded.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from latticework.control.store import Store
from latticework.dataplane.snapshot import KINDS, compile_snapshot

__all__ = ["ConfigFollower"]

log = logging.getLogger(__name__)

_UNFREEZE_EVERY = 32  # recompiles between two chances for a full collection to see everything


class ConfigFollower:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.snapshot = compile_snapshot(0, (), clock())
        self.healthy_store = True
        self._recompiles = 0

    def refresh(self) -> bool:
        """Reload if the config version moved, or if a resource of the current snapshot has settled from
        CREATE_IN_PROGRESS to ACTIVE since. True when a new snapshot was swapped in."""
        try:
            version = self.store.config_version()
            now = self.clock()
            settles_at = self.snapshot.settles_at
            if version == self.snapshot.version and (settles_at is None or now < settles_at):
                return False
            with _collector_paused():
                version, records = self.store.read_all(KINDS)
            # The clock is read again after the read: a resource written (and settled) while we read must
            # compile as settled, or a client that saw this version go live would still get a 404 for it.
            now = self.clock()
        except Exception:
            if self.healthy_store:
                log.exception("store unreadable; serving config version %d until it is back", self.snapshot.version)
            self.healthy_store = False
            return False
        self.healthy_store = True
        with _collector_paused():
            snapshot = compile_snapshot(version, records, now)
        del records
        self.snapshot = snapshot
        self._settle_heap()
        return True

    def _settle_heap(self) -> None:
        """After a swap: the heap frozen, or now and then unfrozen."""
        self._recompiles += 1
        if self._recompiles % _UNFREEZE_EVERY == 0:
            gc.unfreeze()
        else:
            gc.freeze()  # moves the generations' lists whole: no walk of the heap


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No automatic collection for the block (reference counting goes on); the collector's prior state after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
