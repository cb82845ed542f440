"""The config follower: reload on version change or settle time, keep serving when the store is gone."""

from __future__ import annotations

from typing import Any

from latticework.control.store import Record
from latticework.control.store.sqlite import SqliteStore
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
