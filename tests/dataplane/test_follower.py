"""The config follower: reload on version change or settle time, keep serving when the store is gone."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from latticework.control.store import Record
from latticework.control.store.sqlite import SqliteStore
from latticework.dataplane import follower as follower_module
from latticework.dataplane.follower import ConfigFollower


def _service(settles_at: float) -> Record:
    doc = {
        "id": "svc-1",
        "name": "one",
        "status": "CREATE_IN_PROGRESS",
        "_settlesAt": settles_at,
        "dnsEntry": {"domainName": "one-1.abc.vpc-lattice-svcs.us-west-2.on.aws"},
    }
    return Record("service", "000000000000", "us-west-2", "svc-1", "arn:svc-1", doc, "one")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_reloads_when_the_version_moves_and_not_otherwise() -> None:
    store, clock = SqliteStore(":memory:"), Clock()
    follower = ConfigFollower(store, clock)
    assert follower.refresh() is False
    with store.transaction() as tx:
        tx.put(_service(settles_at=0))
    assert follower.refresh() is True
    assert follower.snapshot.version == store.config_version()
    assert "one-1.abc.vpc-lattice-svcs.us-west-2.on.aws" in follower.snapshot.services_by_host
    assert follower.refresh() is False


def test_a_settling_resource_becomes_routable_without_a_config_change() -> None:
    store, clock = SqliteStore(":memory:"), Clock()
    with store.transaction() as tx:
        tx.put(_service(settles_at=105.0))
    follower = ConfigFollower(store, clock)
    follower.refresh()
    assert follower.snapshot.services_by_host == {}
    assert follower.refresh() is False
    clock.now = 105.0
    assert follower.refresh() is True
    assert list(follower.snapshot.services_by_host) == ["one-1.abc.vpc-lattice-svcs.us-west-2.on.aws"]


def test_a_resource_that_settles_while_the_store_is_read_compiles_as_settled() -> None:
    """The write (settling at once, provisioning 0) lands after the version check and before the read: the
    snapshot carries that write's version, so it must judge the write's settle time by a clock read after it."""
    store, clock = SqliteStore(":memory:"), Clock()
    follower = ConfigFollower(store, clock)
    read_all = store.read_all

    def write_then_read(kinds: Any) -> Any:
        clock.now = 101.0
        with store.transaction() as tx:
            tx.put(_service(settles_at=101.0))
        return read_all(kinds)

    store.read_all = write_then_read  # type: ignore[method-assign]
    with store.transaction() as tx:
        tx.put(Record("servicenetwork", "000000000000", "us-west-2", "sn-1", "arn:sn-1", {"id": "sn-1"}, "n"))
    assert follower.refresh() is True
    assert follower.snapshot.version == store.config_version()
    assert list(follower.snapshot.services_by_host) == ["one-1.abc.vpc-lattice-svcs.us-west-2.on.aws"]


def test_the_last_snapshot_keeps_serving_when_the_store_fails() -> None:
    store, clock = SqliteStore(":memory:"), Clock()
    with store.transaction() as tx:
        tx.put(_service(settles_at=0))
    follower = ConfigFollower(store, clock)
    follower.refresh()
    before = follower.snapshot

    def broken(*_: Any) -> int:
        raise OSError("store is gone")

    store.config_version = broken  # type: ignore[method-assign]
    assert follower.refresh() is False
    assert follower.snapshot is before and follower.healthy_store is False


# -- the collector around a recompile ----------------------------------------------------------------------------


def _bump(store: SqliteStore, n: int) -> None:
    """A config change: one more service record."""
    record = _service(settles_at=0)
    record.id, record.arn = f"svc-{n}", f"arn:svc-{n}"
    with store.transaction() as tx:
        tx.put(record)


def test_a_recompile_runs_without_the_collector_then_freezes_what_lives_and_now_and_then_unfreezes() -> None:
    """The collector is paused from the read to the freeze (enabled in between, it would walk everything just
    read at once), enabled again after; what is alive then is frozen (no full collection walks the snapshot);
    every _UNFREEZE_EVERY-th recompile unfreezes instead."""
    store, clock = SqliteStore(":memory:"), Clock()
    follower = ConfigFollower(store, clock)
    seen: list[bool] = []
    read_all, compile_snapshot, settle_heap = store.read_all, follower_module.compile_snapshot, follower._settle_heap

    def observed(call: Any) -> Any:
        def run(*args: Any) -> Any:
            seen.append(gc.isenabled())
            return call(*args)

        return run

    store.read_all = observed(read_all)  # type: ignore[method-assign]
    follower._settle_heap = observed(settle_heap)  # type: ignore[method-assign]
    follower_module.compile_snapshot = observed(compile_snapshot)
    try:
        counts = []
        for n in range(follower_module._UNFREEZE_EVERY):
            _bump(store, n)
            assert follower.refresh() is True
            assert gc.isenabled()
            counts.append(gc.get_freeze_count())
        assert seen == [False] * 3 * follower_module._UNFREEZE_EVERY
        assert all(count > 0 for count in counts[:-1]) and counts[-1] == 0
    finally:
        follower_module.compile_snapshot = compile_snapshot
        gc.unfreeze()


def test_the_collector_is_enabled_again_when_reading_or_compiling_fails() -> None:
    store, clock = SqliteStore(":memory:"), Clock()
    follower = ConfigFollower(store, clock)
    _bump(store, 1)

    def broken(*_: Any) -> Any:
        raise OSError("store is gone")

    store.read_all = broken  # type: ignore[method-assign]
    assert follower.refresh() is False
    assert gc.isenabled()
    del store.read_all
    original = follower_module.compile_snapshot

    def failing(*_: Any) -> Any:
        raise ValueError("cannot compile")

    follower_module.compile_snapshot = failing  # type: ignore[assignment]
    try:
        with pytest.raises(ValueError, match="cannot compile"):
            follower.refresh()
        assert gc.isenabled()
    finally:
        follower_module.compile_snapshot = original  # type: ignore[assignment]
