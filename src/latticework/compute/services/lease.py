"""Which server runs the ECS tasks when several share one store (API replicas on one PostgreSQL): a lease, kept
as a record in the store, held by one server at a time and renewed while it works.

The decision (`next_lease`, `holds`) is pure; `StoreLease` is the I/O: one serialised store transaction per
question, so two servers asking at once take turns and exactly one of them gets it. The lease is time based: a
holder that stops renewing (killed, stalled for longer than the lease) loses it once it expires, and another
server takes over; at once when the holder was a process on this host that no longer exists. The holder's own
writes are fenced (`check` in the same transaction), so a holder that wakes from a stall after the takeover
cannot overwrite what the new one wrote. Lease writes are not configuration (no config version bump).
"""

from __future__ import annotations

import os
import platform
import uuid
from dataclasses import dataclass

from latticework.control.store import Record, Store, Transaction

__all__ = ["LEASE_KIND", "Lease", "LeaseLost", "StoreLease", "holder_id", "holds", "next_lease"]

LEASE_KIND = "lease"


class LeaseLost(Exception):
    """This server no longer holds the lease: another took it over."""


@dataclass(frozen=True, slots=True)
class Lease:
    holder: str
    expires: float  # seconds since the epoch (the servers sharing a store share a clock: one machine, or NTP)


def next_lease(current: Lease | None, me: str, now: float, seconds: float) -> Lease | None:
    """The lease to write now, or None to write nothing: taken when there is none or it has expired, renewed by
    its holder once half of it has run (so a holder writes every seconds/2, not on every question), and left
    alone while another server's has not expired."""
    if current is None or current.expires <= now:
        return Lease(me, now + seconds)
    if current.holder == me and current.expires - now < seconds / 2:
        return Lease(me, now + seconds)
    return None


def holds(current: Lease | None, me: str, now: float) -> bool:
    return current is not None and current.holder == me and now < current.expires


def holder_id() -> str:
    """This server's name as a holder: host / process ID / a random part (a reused process ID is another holder)."""
    return f"{platform.node()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


class StoreLease:
    """The lease called `name` in the store, asked for by the server `holder` (`holder_id()`)."""

    def __init__(self, store: Store, name: str, holder: str, seconds: float = 10.0) -> None:
        self.store = store
        self.name = name
        self.holder = holder
        self.seconds = seconds

    def hold(self, now: float) -> bool:
        """Take or renew the lease as due; True while this server holds it."""
        with self.store.transaction() as tx:
            record = tx.get(LEASE_KIND, "", "", self.name)
            current = _lease(record)
            if current is not None and _gone(current.holder):
                current = None  # its server is dead: no need to wait for the lease to expire
            claimed = next_lease(current, self.holder, now, self.seconds)
            if claimed is not None:
                tx.put(self._record(claimed, record), config=False)
            return holds(claimed or current, self.holder, now)

    def check(self, tx: Transaction) -> None:
        """Raise LeaseLost when another server has taken the lease over (as of `tx`): a fence for the holder's
        writes, which, made in the same serialised transaction, cannot land after a takeover. A lease that
        expired with nobody taking it over is still this server's (a tick longer than the lease, alone on the
        store, must not make it drop its tasks); `hold` renews it at the next tick."""
        current = _lease(tx.get(LEASE_KIND, "", "", self.name))
        if current is None or current.holder != self.holder:
            raise LeaseLost(self.name)

    def release(self) -> None:
        """Give the lease up now (a clean shutdown), so another server need not wait for it to expire."""
        with self.store.transaction() as tx:
            record = tx.get(LEASE_KIND, "", "", self.name)
            current = _lease(record)
            if record is not None and current is not None and current.holder == self.holder:
                tx.delete(record)

    def _record(self, lease: Lease, existing: Record | None) -> Record:
        doc = {"holder": lease.holder, "expires": lease.expires}
        if existing is not None:
            existing.doc = doc
            return existing
        return Record(LEASE_KIND, "", "", self.name, f"latticework:lease/{self.name}", doc, name=self.name)


def _lease(record: Record | None) -> Lease | None:
    if record is None:
        return None
    return Lease(str(record.doc["holder"]), float(record.doc["expires"]))


def _gone(holder: str) -> bool:
    """True when the holder is a server process on this host that no longer exists (killed, say, and restarted
    on the same state dir: the new process need not wait out the old one's lease)."""
    host, _, rest = holder.partition("/")
    pid = rest.partition("/")[0]
    if host != platform.node() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, another user's
        return False
    return False
