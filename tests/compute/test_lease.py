"""The service supervisor's lease: the decision as a table, two holders on one shared store (SQLite file and
PostgreSQL) taking it in turn, and two real servers on one PostgreSQL running an ECS service's tasks once, with
the survivor taking the tasks over when the holder shuts down."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ecs_kit import served_by, service_of, tasks_of, wait_for, web_container

from latticework.compute.services.lease import LEASE_KIND, Lease, LeaseLost, StoreLease, holds, next_lease
from latticework.control.store import Store
from latticework.control.store.factory import open_store

ME, OTHER = "me", "other"


@pytest.mark.parametrize(
    ("current", "now", "written", "held"),
    [
        (None, 100.0, Lease(ME, 110.0), True),  # free: taken
        (Lease(OTHER, 100.0), 100.0, Lease(ME, 110.0), True),  # expired (at its instant): taken over
        (Lease(OTHER, 100.1), 100.0, None, False),  # another's, still live: left alone
        (Lease(ME, 108.0), 100.0, None, True),  # mine, more than half left: no write
        (Lease(ME, 104.9), 100.0, Lease(ME, 110.0), True),  # mine, less than half left: renewed
        (Lease(ME, 99.0), 100.0, Lease(ME, 110.0), True),  # mine but expired: taken again like anyone's
    ],
)
def test_next_lease(current: Lease | None, now: float, written: Lease | None, held: bool) -> None:
    assert next_lease(current, ME, now, 10.0) == written
    assert holds(written or current, ME, now) is held


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens one shared store as often as asked (each opening stands for one server)."""
    location = str(request.getfixturevalue("pg_url")) if request.param == "postgres" else f"sqlite:{tmp_path}/l.db"
    opened: list[Store] = []

    def open_one() -> Store:
        opened.append(open_store(location, tmp_path))
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()


def test_two_servers_take_the_lease_in_turn(shared: Callable[[], Store]) -> None:
    one, two = StoreLease(shared(), "l", "one", 10.0), StoreLease(shared(), "l", "two", 10.0)
    assert one.hold(100.0) and not two.hold(100.0)
    assert one.hold(106.0)  # renewed until 116
    with one.store.transaction() as tx:
        one.check(tx)  # no clock here: until another server takes over (even once expired), one may write
    assert not two.hold(115.9) and two.hold(116.0)  # expired: taken over
    with one.store.transaction() as tx, pytest.raises(LeaseLost):
        one.check(tx)  # the fence: one writes nothing any more
    assert not one.hold(117.0)
    two.release()
    assert one.hold(117.0)  # released: no need to wait for it to expire
    two.release()  # not the holder: nothing happens
    assert not two.hold(118.0)


def test_a_lease_whose_holder_died_on_this_host_is_taken_at_once(shared: Callable[[], Store]) -> None:
    """A server killed and started again on the same store need not wait for its old lease to expire; a live
    holder's lease, or one held on another host, is waited for."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    here = platform.node()
    for holder, taken in ((f"{here}/{dead.pid}/x", True), (f"{here}/1/x", False), (f"elsewhere/{dead.pid}/x", False)):
        store = shared()
        with store.transaction() as tx:
            for old in tx.find(LEASE_KIND, "", ""):
                tx.delete(old)
        assert StoreLease(store, "l", holder).hold(100.0)
        assert StoreLease(store, "l", "newcomer").hold(101.0) is taken


def test_lease_writes_do_not_bump_the_config_version(shared: Callable[[], Store]) -> None:
    store = shared()
    before = store.config_version()
    StoreLease(store, "l", "one").hold(100.0)
    assert store.config_version() == before


@pytest.mark.postgres
def test_two_servers_on_one_database_run_a_service_once(pg_url: str, make_server: Callable[..., Any]) -> None:
    # pg_url before make_server: the schema is dropped after the servers have stopped (and stopped their tasks).
    """Both servers supervise ECS tasks; with the lease only one runs them. Without it the second would take the
    first's tasks for leftovers of an earlier run, stop them and start others, and so would the first: stopped
    tasks would pile up. When the holder shuts down, the other takes over and runs the service's tasks."""
    one = make_server("--store", pg_url, "--health-interval-scale", "0.05")
    two = make_server("--store", pg_url, "--health-interval-scale", "0.05")
    ecs = one.client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="web", containerDefinitions=[web_container()])
    ecs.create_service(cluster="c", serviceName="web", taskDefinition="web", desiredCount=2)
    running = wait_for(lambda: len(_running(ecs)) == 2 and _running(ecs))
    first = {t["taskArn"] for t in running}
    # Long enough for either server to have ticked many times (every 0.2 s), and for a thrash to show.
    time.sleep(3.0)
    assert tasks_of(ecs, "c", "web", status="STOPPED") == []
    assert {t["taskArn"] for t in tasks_of(ecs, "c", "web")} == first
    holder = _server_running(running[0], [one, two])
    assert _server_running(running[1], [one, two]) is holder
    other = two if holder is one else one
    holder.stop()
    ecs = other.client("ecs")
    wait_for(lambda: service_of(ecs, "c", "web")["runningCount"] == 2 and not first & _arns(tasks_of(ecs, "c", "web")))
    assert first <= _arns(tasks_of(ecs, "c", "web", status="STOPPED"))
    assert all(_server_running(t, [one, two]) is other for t in _running(ecs))


def _arns(tasks: list[dict[str, Any]]) -> set[str]:
    return {t["taskArn"] for t in tasks}


@pytest.mark.postgres
def test_a_holder_that_stalls_past_its_lease_is_replaced_and_lets_its_tasks_go(
    pg_url: str, make_server: Callable[..., Any]
) -> None:
    """The holder is frozen (SIGSTOP) for longer than its 4 s lease: the other server takes over, records the task
    stopped, kills its process (same host, the recorded process) and starts a new one. Thawed, the old holder
    finds the lease gone, lets its task go and writes nothing over what the new holder wrote."""
    servers = [make_server("--store", pg_url, "--lease-seconds", "4", "--health-interval-scale", "0.05")
               for _ in range(2)]  # fmt: skip
    ecs = servers[0].client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="web", containerDefinitions=[web_container()])
    ecs.create_service(cluster="c", serviceName="web", taskDefinition="web", desiredCount=1)
    [task] = wait_for(lambda: _running(ecs))
    port = task["containers"][0]["networkBindings"][0]["hostPort"]
    holder = _server_running(task, servers)
    other = next(s for s in servers if s is not holder)
    os.kill(holder.process.pid, signal.SIGSTOP)
    try:
        ecs = other.client("ecs")
        [new] = wait_for(lambda: [t for t in _running(ecs) if t["taskArn"] != task["taskArn"]])
        assert new["taskArn"] != task["taskArn"] and _server_running(new, servers) is other
        assert served_by(port) != task["taskArn"]  # the frozen server's process was killed by the new holder
    finally:
        os.kill(holder.process.pid, signal.SIGCONT)
    log = holder.state_dir.parent / f"server-{holder.port}.log"
    wait_for(lambda: "service supervisor lease lost: stopping 1 task process(es) here" in log.read_text())
    [stopped] = tasks_of(ecs, "c", "web", status="STOPPED")
    assert stopped["taskArn"] == task["taskArn"] and "another server" in stopped["stoppedReason"]
    time.sleep(1.0)  # the thawed server's ticks write nothing over it
    assert tasks_of(ecs, "c", "web", status="STOPPED") == [stopped]
    assert [t["taskArn"] for t in tasks_of(ecs, "c", "web")] == [new["taskArn"]]


def _running(ecs: Any) -> list[dict[str, Any]]:
    return [t for t in tasks_of(ecs, "c", "web") if t["lastStatus"] == "RUNNING"]


def _server_running(task: dict[str, Any], servers: list[Any]) -> Any:
    """The server whose child the task's container process is (its runtimeId is the process ID)."""
    stat = Path(f"/proc/{task['containers'][0]['runtimeId']}/stat").read_text()
    parent = int(stat.rpartition(")")[2].split()[1])
    return next(s for s in servers if s.process is not None and s.process.pid == parent)
