"""The service supervisor: every tick it reads the ECS tasks and services from the store, launches PROVISIONING
tasks as processes (`launch.py`, `runner.py`), moves tasks through their lifecycle (`states.py`), registers RUNNING
tasks into their Lattice target groups and deregisters stopping ones (through the Lattice backend's public
RegisterTargets / DeregisterTargets, in-process), records exits, and runs the scheduler step of every service
(`scheduler.py`). The asyncio shell of the service runtime, started and stopped by control/server.py.

The store stays the truth: the processes are the only in-memory state, and a task whose process belongs to an
earlier server run (or to another server) is deregistered and recorded as stopped (its service starts a
replacement). Servers sharing one store take turns through a lease (`lease.py`): only its holder supervises; one
that loses it stops its processes and leaves their records to the new holder; a clean shutdown releases it.

Deviation from ECS: a stopping task is deregistered, then signalled after `drain_seconds` (2 s, enough for the
data plane to drop the target) instead of the target group's full deregistration delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import platform
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latticework.compute.services import model, scheduler
from latticework.compute.services.launch import LaunchSpec, NotRunnable, first_port, launch_spec
from latticework.compute.services.lease import LeaseLost, StoreLease, holder_id
from latticework.compute.services.records import container_overrides
from latticework.compute.services.runner import (
    ContainerProcess,
    free_port,
    kill_leftover,
    port_open,
    process_birth,
    spawn,
)
from latticework.compute.services.states import TaskEvent, TaskStatus, next_status
from latticework.control.backend import Backend, Caller
from latticework.control.elbv2.tasks import is_elbv2_group, target_call, target_health
from latticework.control.errors import ApiError
from latticework.control.store import Record, Store, Transaction
from latticework.dataplane.ingress import read_ingress_ports
from latticework.dataplane.vpcenv import vpc_environment
from latticework.pki.ca import LocalCA

__all__ = ["ServiceSupervisor"]

log = logging.getLogger(__name__)

_STOP_TIMEOUT = 30.0  # ECS API reference ContainerDefinition.stopTimeout: 30 s unless the container says
_START_TIMEOUT = 120.0  # ours: a container whose port never opens is stopped (and retried with backoff)


@dataclass
class _Live:
    containers: list[ContainerProcess]
    log_path: Path
    ports: dict[str, int] = field(default_factory=dict)

    def exited(self) -> ContainerProcess | None:
        """The first essential container that has exited (which ends the task), if any."""
        return next((c for c in self.containers if c.spec.essential and c.exit_code is not None), None)

    def signal(self, signum: int) -> None:
        for container in self.containers:
            if container.exit_code is None:
                container.signal(signum)


class ServiceSupervisor:
    def __init__(
        self, state_dir: Path, store: Store, backend: Backend, *, scale: float = 1.0, tick_seconds: float = 0.2,
        drain_seconds: float = 2.0, lease_seconds: float = 10.0,
    ) -> None:  # fmt: skip
        self.state_dir = state_dir
        self.store = store
        self.backend = backend
        self.scale = scale
        self.tick_seconds = tick_seconds
        self.drain_seconds = drain_seconds
        self.lease = StoreLease(store, "ecs-supervisor", holder_id(), lease_seconds)
        self.live: dict[str, _Live] = {}
        self.loop: asyncio.Task[None] | None = None
        self.idle_at: int | None = None  # the config version at which there was nothing to supervise

    async def start(self) -> None:
        self.loop = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop every task this server runs (deregistered, SIGTERM, SIGKILL after 5 s) and record them stopped."""
        loop, self.loop = self.loop, None  # `_run` ends at its next turn even if the cancel below is lost
        if loop is not None:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)
        await self._stop_processes(recorded=True)
        try:
            self.lease.release()
        except Exception:  # the lease then expires on its own
            log.exception("could not release the service supervisor's lease")

    async def _stop_processes(self, recorded: bool) -> None:
        """SIGTERM every task process this server runs (SIGKILL after 5 s). `recorded`: deregister each task and
        record it stopped; else its records are another server's now, and left alone."""
        arns = list(self.live)
        for arn in arns:
            if recorded:
                with _recorded_if_possible():
                    self._deregister(self._record(arn))
            self.live[arn].signal(signal.SIGTERM)
        await asyncio.gather(*(self._reap(arn, recorded) for arn in arns))

    async def _reap(self, arn: str, record_stop: bool) -> None:
        live = self.live.pop(arn)
        waiters = [c.waiter for c in live.containers]
        _, pending = await asyncio.wait(waiters, timeout=5.0) if waiters else (set(), set())
        if pending:
            live.signal(signal.SIGKILL)
            await asyncio.gather(*pending, return_exceptions=True)
        if not record_stop:
            return
        with _recorded_if_possible():
            record = self._record(arn)
            if record is not None:
                self._finish(record, live, "Task stopped: the Latticework server running it shut down.", requested=True)

    async def _let_go(self) -> None:
        """The lease went to another server (this one stalled past it): stop this server's processes; their
        records are the new holder's to deregister and finish."""
        log.warning("service supervisor lease lost: stopping %d task process(es) here", len(self.live))
        await self._stop_processes(recorded=False)

    async def _run(self) -> None:
        this = asyncio.current_task()
        # Until stop() unhooks it. Not `while True`: on Python 3.11 asyncio.wait_for (task port probes in tick) can
        # swallow a cancel that lands as it completes, and stop() would then wait for this loop for ever.
        while self.loop is this:
            try:
                await self.tick(time.time())
            except Exception:
                log.exception("service supervisor tick failed")
            await asyncio.sleep(self.tick_seconds)

    async def tick(self, now: float) -> None:
        # Idle (no live task, no service) and no API write since: nothing to read. ECS API writes bump the
        # config version; the supervisor's own writes do not, and it never idles while it has work.
        if self.idle_at is not None and self.store.config_version() == self.idle_at:
            return
        try:
            if not self.lease.hold(now):
                raise LeaseLost(self.lease.name)
            await self._supervise(now)
        except LeaseLost:
            self.idle_at = None
            if self.live:
                await self._let_go()

    async def _supervise(self, now: float) -> None:
        version, records = self.store.read_all([model.TASK_KIND, model.SERVICE_KIND])
        busy = [r for r in records if r.doc.get("lastStatus", "") != "STOPPED" and r.doc.get("status") != "INACTIVE"]
        self.idle_at = None if busy or self.live else version
        for record in records:
            if record.kind == model.TASK_KIND and record.doc["lastStatus"] != "STOPPED":
                await self._step_task(record, now)
        services = [r for r in records if r.kind == model.SERVICE_KIND and r.doc["status"] != "INACTIVE"]
        if services:
            health = self._health(r for r in records if r.kind == model.TASK_KIND)
            for service in services:
                with self._transaction() as tx:
                    scheduler.schedule_service(tx, service, health, now, self.scale)

    # -- one task ---------------------------------------------------------------------------------------------

    async def _step_task(self, record: Record, now: float) -> None:
        doc, live = record.doc, self.live.get(record.arn)
        if live is None:
            if doc["lastStatus"] == "PROVISIONING" and doc["desiredStatus"] == "RUNNING":
                await self._launch(record, now)
            else:
                reason = None if doc["desiredStatus"] == "STOPPED" else "Task stopped: its process belonged to an " \
                    "earlier run of the Latticework server or to another server."  # fmt: skip
                self._kill_leftovers(record)
                self._deregister(record)
                self._finish(record, None, reason, requested=reason is None)
            return
        ended = live.exited()
        if ended is not None:
            self._deregister(record)
            live.signal(signal.SIGKILL)
            self.live.pop(record.arn)
            self._finish(record, live, None, requested=doc["desiredStatus"] == "STOPPED")
        elif doc["desiredStatus"] == "STOPPED":
            self._stopping(record, live, now)
        elif doc["lastStatus"] == "PENDING":
            await self._pending(record, live, now)

    def _kill_leftovers(self, record: Record) -> None:
        """The processes of a task whose server is gone (killed) may still run on this host: kill them, or they
        would keep their ports and serve, in no record, for ever."""
        if record.doc.get("_host") != platform.node():
            return
        for process in record.doc.get("_processes") or []:
            if kill_leftover(int(process["pid"]), process.get("birth")):
                self._note(
                    self._log_path(record), f"killed process {process['pid']}, left running by an earlier server"
                )

    async def _launch(self, record: Record, now: float) -> None:
        doc = record.doc
        with self.store.transaction() as tx:
            taskdef = tx.get_by_arn(doc["taskDefinitionArn"])
        task_dir = self.state_dir / "tasks" / str(record.parent) / str(record.name)
        log_path = self._log_path(record)
        try:
            specs = self._specs(record, taskdef.doc if taskdef else None, task_dir)
        except NotRunnable as exc:
            self._note(log_path, str(exc))
            self._finish(record, None, str(exc), requested=False, code="TaskFailedToStart")
            return
        task_dir.mkdir(parents=True, exist_ok=True)
        containers: list[ContainerProcess] = []
        try:
            for spec in specs:
                containers.append(await spawn(spec, log_path))
        except OSError as exc:
            for container in containers:
                container.signal(signal.SIGKILL)
            reason = f"CannotStartContainerError: {exc}"
            self._note(log_path, reason)
            self._finish(record, None, reason, requested=False, code="TaskFailedToStart")
            return
        live = _Live(containers, log_path, {s.container: s.port for s in specs if s.port is not None})
        self.live[record.arn] = live
        definitions = taskdef.doc["containerDefinitions"] if taskdef else []
        port_names = {m["name"]: c["name"] for c in definitions for m in c["portMappings"] if m.get("name")}
        stop_timeout = max((float(c.get("stopTimeout") or _STOP_TIMEOUT) for c in definitions), default=_STOP_TIMEOUT)
        processes = [{"pid": c.process.pid, "birth": process_birth(c.process.pid)} for c in containers]
        self._update(record, lambda d: _launched(d, live, port_names, now, stop_timeout, processes))

    def _specs(self, record: Record, taskdef: dict[str, Any] | None, task_dir: Path) -> list[LaunchSpec]:
        if taskdef is None:
            raise NotRunnable(f"TaskDefinition {record.doc['taskDefinitionArn']} no longer exists.")
        taken = {p for live in self.live.values() for p in live.ports.values()}
        specs = []
        vpc_env = self._vpc_env(record.doc.get("_vpc"))
        images = self._images()
        for definition in taskdef["containerDefinitions"]:
            override = container_overrides(record.doc, definition["name"])
            container = _overridden(definition, override)
            port = free_port(taken) if first_port(container) else None
            if port is not None:
                taken.add(port)
            specs.append(launch_spec(container, task_arn=record.arn, region=record.region, task_dir=str(task_dir),
                                     port=port, images=images, vpc_env=vpc_env, server_env=os.environ))  # fmt: skip
        return specs

    async def _pending(self, record: Record, live: _Live, now: float) -> None:
        checks = await asyncio.gather(*(port_open(p) for p in live.ports.values()))
        if all(checks):
            self._update(record, lambda d: _running(d, now))
            self._register(record)
        elif now > record.doc.get("_pendingSince", now) + _START_TIMEOUT * max(self.scale, 0.05):
            reason = f"Task failed to start: its ports {sorted(live.ports.values())} did not accept connections."
            self._note(live.log_path, reason)
            with self._transaction() as tx:
                fresh = tx.get(record.kind, record.account, record.region, record.id)
                if fresh is not None:
                    scheduler.request_stop(tx, fresh, reason, "TaskFailedToStart", now)
                    fresh.doc["_failed"] = True
                    tx.put(fresh, config=False)

    def _stopping(self, record: Record, live: _Live, now: float) -> None:
        status = record.doc["lastStatus"]
        if status == "RUNNING":
            self._deregister(record)
            self._update(record, lambda d: _move(d, TaskEvent.STOP, _drainUntil=now + self.drain_seconds))
        elif status == "PENDING" or (status == "DEACTIVATING" and now >= record.doc.get("_drainUntil", 0)):
            live.signal(signal.SIGTERM)
            event = TaskEvent.STOP if status == "PENDING" else TaskEvent.DRAINED
            self._update(record, lambda d: _move(d, event, _killAt=now + self._stop_timeout(record)))
        elif status == "STOPPING" and now >= record.doc.get("_killAt", 0):
            live.signal(signal.SIGKILL)

    def _stop_timeout(self, record: Record) -> float:
        return float(record.doc.get("_stopTimeout") or _STOP_TIMEOUT)

    # -- store writes -----------------------------------------------------------------------------------------

    def _update(self, record: Record, change: Any) -> None:
        """Re-read the task in a transaction and apply `change` to its document (API writes are kept)."""
        with self._transaction() as tx:
            fresh = tx.get(record.kind, record.account, record.region, record.id)
            if fresh is not None:
                change(fresh.doc)
                tx.put(fresh, config=False)
                record.doc = fresh.doc

    def _finish(
        self, record: Record, live: _Live | None, reason: str | None, *, requested: bool, code: str | None = None
    ) -> None:
        """Record the task STOPPED; a stop nobody asked for counts as a failure of its service (backoff)."""
        now = time.time()
        with self._transaction() as tx:
            fresh = tx.get(record.kind, record.account, record.region, record.id)
            if fresh is None:
                return
            doc = fresh.doc
            failed = not requested or bool(doc.get("_failed"))
            _stopped(doc, live, reason, code, now)
            tx.put(fresh, config=False)
            service = tx.get(model.SERVICE_KIND, fresh.account, fresh.region, f"{fresh.parent}/{fresh.ref}")
            if failed and fresh.ref and service is not None:
                scheduler.note_failure(service.doc, now, self.scale)
                tx.put(service, config=False)
        if live is not None:
            self._note(live.log_path, f"task stopped: {doc.get('stoppedReason')}")

    # -- Lattice targets --------------------------------------------------------------------------------------

    def _register(self, record: Record) -> None:
        targets = record.doc.get("_targets") or []
        done = []
        for target in targets:
            if self._targets_call("RegisterTargets", record, target):
                done.append(target)
        self._update(record, lambda d: d.update(_registered=done))

    def _deregister(self, record: Record | None) -> None:
        if record is None or not record.doc.get("_registered"):
            return
        for target in record.doc["_registered"]:
            self._targets_call("DeregisterTargets", record, target)
        self._update(record, lambda d: d.update(_registered=[]))

    def _targets_call(self, operation: str, record: Record, target: dict[str, Any]) -> bool:
        if is_elbv2_group(target["targetGroupArn"]):
            try:
                target_call(self.store, Caller(record.account, record.region), operation, target["targetGroupArn"],
                            int(target["port"]))  # fmt: skip
            except ApiError as exc:
                self._note(self._log_path(record), f"{operation} in {target['targetGroupArn']} failed: {exc.message}")
                return False
            return True
        params = {"targetGroupIdentifier": target["targetGroupArn"],
                  "targets": [{"id": "127.0.0.1", "port": int(target["port"])}]}  # fmt: skip
        try:
            result = self.backend.invoke(operation, params, Caller(record.account, record.region))
        except ApiError as exc:
            self._note(self._log_path(record), f"{operation} in {target['targetGroupArn']} failed: {exc.message}")
            return False
        return not (result or {}).get("unsuccessful")

    def _health(self, tasks: Iterable[Record]) -> dict[tuple[str, int], str]:
        """Lattice's view of every registered task target: ListTargets once per target group."""
        wanted: dict[tuple[str, str, str], list[int]] = {}
        for task in tasks:
            for group, port in scheduler.task_targets(task.doc):
                wanted.setdefault((task.account, task.region, group), []).append(port)
        health: dict[tuple[str, int], str] = {}
        for (account, region, group), ports in wanted.items():
            if is_elbv2_group(group):
                with contextlib.suppress(ApiError):
                    found_ports = target_health(self.store, Caller(account, region), group, ports)
                    health.update({(group, port): status for port, status in found_ports.items()})
                continue
            params = {"targetGroupIdentifier": group, "targets": [{"id": "127.0.0.1", "port": p} for p in ports]}
            with contextlib.suppress(ApiError):
                found = self.backend.invoke("ListTargets", params, Caller(account, region)) or {}
                for item in found.get("items", []):
                    health[(group, int(item["port"]))] = item["status"]
        return health

    # -- environment ------------------------------------------------------------------------------------------

    def _vpc_env(self, vpc: str | None) -> dict[str, str]:
        port = read_ingress_ports(self.state_dir).get(vpc) if vpc else None
        if port is None:
            return {}
        return vpc_environment(port, Path(os.path.abspath(LocalCA(self.state_dir / "pki").bundle_path)))

    def _images(self) -> dict[str, Any]:
        path = self.state_dir / "images.json"
        try:
            images = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return images if isinstance(images, dict) else {}

    def _log_path(self, record: Record) -> Path:
        group = record.ref or f"task-{record.doc['group'].partition(':')[2] or 'standalone'}"
        return self.state_dir / "logs" / "services" / str(record.parent) / group / f"{record.name}.log"

    def _note(self, path: Path, line: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(path, "a") as file:
            file.write(f"[latticework {stamp}] {line}\n")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Transaction]:
        """A store transaction for this supervisor's writes, fenced by the lease (LeaseLost when another server
        has taken over)."""
        with self.store.transaction() as tx:
            self.lease.check(tx)
            yield tx

    def _record(self, arn: str) -> Record | None:
        with self.store.transaction() as tx:
            return tx.get_by_arn(arn)


@contextlib.contextmanager
def _recorded_if_possible() -> Iterator[None]:
    """Around the store writes of a shutdown, which must never keep the processes from being stopped: another
    server took the lease over (its records are the new holder's now), or the store is gone."""
    try:
        yield
    except LeaseLost:
        pass
    except Exception:
        log.exception("could not record a task stopped at shutdown")


# -- document changes (pure) -----------------------------------------------------------------------------------


def _move(doc: dict[str, Any], event: TaskEvent, **private: Any) -> None:
    doc["lastStatus"] = next_status(TaskStatus(doc["lastStatus"]), event).value
    doc.update(private)


def _launched(
    doc: dict[str, Any], live: _Live, port_names: dict[str, str], now: float, stop_timeout: float,
    processes: list[dict[str, Any]],
) -> None:  # fmt: skip
    _move(doc, TaskEvent.LAUNCHED, _pendingSince=now, _ports=live.ports, _stopTimeout=stop_timeout)
    doc.update(_host=platform.node(), _processes=processes)
    doc.update(pullStartedAt=now, pullStoppedAt=now)
    pids = {c.spec.container: c.process.pid for c in live.containers}
    for container in doc["containers"]:
        port = live.ports.get(container["name"])
        container["runtimeId"] = str(pids.get(container["name"], ""))
        if port is not None:
            container["networkBindings"] = [{"bindIP": "127.0.0.1", "hostPort": port, "protocol": "tcp"}]
    doc["_targets"] = _lattice_targets(doc, live.ports, port_names)


def _lattice_targets(doc: dict[str, Any], ports: dict[str, int], port_names: dict[str, str]) -> list[dict[str, Any]]:
    """Each VPC Lattice configuration's target group with the port chosen for the container whose portMapping
    carries its portName (one port per container: the one PORT names)."""
    named = {name: ports[c] for name, c in port_names.items() if c in ports}
    targets = []
    for config in doc.get("_lattice") or []:
        # A `loadBalancers` entry (ELBv2 target group) names its container; a Lattice one its portMapping.
        port = ports.get(config["containerName"]) if "containerName" in config else named.get(config.get("portName"))
        if port is not None:
            targets.append({"targetGroupArn": config["targetGroupArn"], "port": port})
    return targets


def _running(doc: dict[str, Any], now: float) -> None:
    _move(doc, TaskEvent.LISTENING)
    doc.update(startedAt=now, connectivityAt=now)
    for container in doc["containers"]:
        container["lastStatus"] = "RUNNING"


def _stopped(doc: dict[str, Any], live: _Live | None, reason: str | None, code: str | None, now: float) -> None:
    exits = {c.spec.container: c.exit_code for c in live.containers} if live else {}
    essential = (
        next((c for c in live.containers if c.spec.essential and c.exit_code is not None), None) if live else None
    )
    if doc["desiredStatus"] != "STOPPED" and essential is not None:
        # ECS's stoppedReason when an essential container exits on its own.
        reason = reason or "Essential container in task exited"
        code = code or "EssentialContainerExited"
    doc.update(lastStatus="STOPPED", desiredStatus="STOPPED", stoppedAt=now, executionStoppedAt=now)
    if reason and not doc.get("stoppedReason"):
        doc["stoppedReason"] = reason
    if code and not doc.get("stopCode"):
        doc["stopCode"] = code
    doc["healthStatus"] = "UNKNOWN"
    for container in doc["containers"]:
        container["lastStatus"] = "STOPPED"
        if exits.get(container["name"]) is not None:
            container["exitCode"] = exits[container["name"]]


def _overridden(definition: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """RunTask's containerOverrides applied: command replaces, environment entries are added or replace."""
    container = dict(definition)
    if override.get("command"):
        container["command"] = override["command"]
    if override.get("environment"):
        given = {e["name"]: e for e in container.get("environment") or []}
        given.update({e["name"]: e for e in override["environment"]})
        container["environment"] = list(given.values())
    return container
