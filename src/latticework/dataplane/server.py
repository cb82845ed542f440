"""The data plane of one process: follows the store, keeps an ingress per reachable VPC, relays requests,
checks target health, writes access logs. `latticework server` runs it next to the API in one event loop.
I/O module (asyncio)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from latticework.console.metrics import TrafficMetrics
from latticework.control.store import Store
from latticework.dataplane.accesslog import LogRouter, request_line
from latticework.dataplane.alb import names as alb_names
from latticework.dataplane.alb.accesslog import alb_log_line, alb_log_path
from latticework.dataplane.alb.listeners import AlbHealthSink, AlbRouter, AlbServers
from latticework.dataplane.alb.views import EMPTY, AlbSnapshot, compile_albs
from latticework.dataplane.follower import ConfigFollower
from latticework.dataplane.healthcheck import HealthChecker
from latticework.dataplane.healthstore import StoreHealthSink
from latticework.dataplane.ingress import IngressPorts, IngressServers
from latticework.dataplane.lambda_target import FunctionInvoker, FunctionPermissions, LambdaTargets, NoFunctions
from latticework.dataplane.logsink import AccessLogSink
from latticework.dataplane.relay import Relay, Trace
from latticework.dataplane.snapshot import ServiceView, Snapshot, TargetGroupView, TargetView
from latticework.pki.ca import IssuedCertificate, LocalCA
from latticework.pki.tls import SniRouter, server_context

__all__ = ["DataPlane", "instance_registry"]

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05  # config version checks: an API change is live within about this long


def instance_registry(state_dir: Path) -> dict[str, str]:
    """INSTANCE targets' addresses: STATE_DIR/instances.json maps instance IDs to IP addresses
    ({"i-0123456789abcdef0": "127.0.0.1"}); there is no EC2 to ask."""
    try:
        return {str(k): str(v) for k, v in json.loads((state_dir / "instances.json").read_text()).items()}
    except (FileNotFoundError, ValueError):
        return {}


class DataPlane:
    def __init__(
        self,
        store: Store,
        state_dir: Path,
        *,
        reuse_port: bool = False,
        health_interval_scale: float = 1.0,
        check_health: bool = True,
        healthy: Callable[[TargetGroupView], frozenset[str]] | None = None,
        follow_store: Store | None = None,
        invoker: FunctionInvoker | None = None,
        strict: bool = False,
    ) -> None:
        """`store` takes the data plane's few writes (target health) on the event loop's thread. `follow_store`, a
        second connection to the same store, is read by the follower in a worker thread, so compiling a large
        snapshot does not stall traffic and API calls on the loop; without it, the follower reads `store` on
        the loop. `invoker` runs functions for LAMBDA target groups (none: every function is unknown); with
        `strict`, a function is invoked only when its resource policy lets vpc-lattice.amazonaws.com do so."""
        self.state_dir = state_dir
        self.follower = ConfigFollower(follow_store or store)
        self._compiler = ThreadPoolExecutor(1, thread_name_prefix="snapshot") if follow_store else None
        self.instances: dict[str, str] = {}
        self.ca = LocalCA(state_dir / "pki")
        self.tls = SniRouter(self.certificate_for)
        self.logs = AccessLogSink(state_dir / "logs")
        self._log_router = LogRouter({})
        self.metrics = TrafficMetrics()  # this process's share of /metrics (multiprocess mode adds them up)
        self.checker = HealthChecker(
            self.snapshot,
            self.address_of,
            StoreHealthSink(store, self.snapshot),
            interval_scale=health_interval_scale,
        )
        self.check_health = check_health
        functions = LambdaTargets(invoker or NoFunctions(), FunctionPermissions(store) if strict else None)
        self.relay = Relay(
            self.snapshot,
            healthy or self.checker.healthy,
            self.address_of,
            self.record,
            lambda: self.tls.context,
            functions,
        )
        self.relay.connections = self.metrics
        self.ingress = IngressServers(IngressPorts(state_dir), self.relay.connection_for, reuse_port=reuse_port)
        # ALBs on the same relay (dataplane/alb): their own view of the store, their own instance of the checker.
        self.albs: AlbSnapshot = EMPTY
        self.alb_checker = HealthChecker(
            lambda: self.albs.health, self.address_of, AlbHealthSink(store), interval_scale=health_interval_scale
        )
        router = AlbRouter(self.relay, lambda: self.albs, self.alb_checker.healthy)
        self.relay.ingress_albs, self.relay.alb_targets = router.from_ingress, router.from_lattice
        self.alb_servers = AlbServers(self.relay, router, self._alb_tls)
        self._tasks: list[asyncio.Task[None]] = []
        self.live_version = 0  # the config version whose ingresses, certificates and checks are all in place

    def snapshot(self) -> Snapshot:
        return self.follower.snapshot

    def health(self) -> dict[str, Any]:
        """For /_latticework/health: the config version traffic is served with, and whether the store answers."""
        return {"dataPlaneVersion": self.live_version, "storeReachable": self.follower.healthy_store}

    def address_of(self, group: TargetGroupView, target: TargetView) -> tuple[str, int] | None:
        port = target.port or group.port
        if port is None:
            return None
        if group.type == "IP":
            return target.id, port
        if group.type == "INSTANCE":
            address = self.instances.get(target.id)
            return (address, port) if address else None
        return None  # LAMBDA targets are invoked (`lambda_target`); ALB targets run the ALB's rules (`alb.listeners`)

    def _alb_tls(self, certificate_arn: str) -> Any:
        certificate = self.ca.get(certificate_arn)
        return server_context(certificate) if certificate is not None else None

    def certificate_for(self, host: str) -> IssuedCertificate | None:
        """The certificate a TLS client gets for `host` (by SNI): the service's own for its custom domain, the
        managed one for its generated name; none (the handshake fails, as on AWS) for anything else."""
        for service in self.follower.snapshot.services_by_host.get(host, ()):
            if host == service.dns_name:
                return self.ca.certificate_for_service_name(host, account=service.account)
            if service.certificate_arn:
                return self.ca.get(service.certificate_arn)
        alb = self.albs.by_host.get(host)  # an internal ALB's HTTPS listener, through its VPC's ingress
        certificates = [listener.certificate_arn for listener in alb.listeners.values()] if alb else []
        found = next((arn for arn in certificates if arn), None)
        return self.ca.get(found) if found else None

    def record(self, trace: Trace) -> None:
        """The relay's record hook: the request counted in the metrics, and the access log line of a finished
        request for each subscription that logs it, and for the ALB that handled it if that ALB logs. Read
        straight from the trace (no `Exchange`), and nothing is built when nothing logs it."""
        self.metrics.observe(trace)
        router = self._log_router
        destinations = self.follower.snapshot.log_destinations
        if router.log_destinations is not destinations:
            router = self._log_router = LogRouter(destinations)
        targets = router.targets(trace)
        if targets:
            line = request_line(trace)
            for target in targets:
                self.logs.write(target.destinations, target.resource_id, target.account, target.region, line, trace.end)
        hop = trace.alb
        if hop is not None:  # set only for an ALB with access_logs.s3.enabled
            self.logs.write_file(alb_log_path(hop.alb, trace.end), alb_log_line(hop, trace), trace.end)

    async def start(self) -> None:
        await self._refresh()
        self._tasks = [asyncio.create_task(self._follow())]
        if self.check_health:
            self._tasks.append(asyncio.create_task(self.checker.run()))
            self._tasks.append(asyncio.create_task(self.alb_checker.run()))

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                self.metrics.flush()  # this process's request counts reach /metrics within a tick
                await self._refresh()
                self.logs.flush_if_due(time.time())
            except Exception:
                log.exception("data plane refresh failed; serving the last config")

    async def _refresh(self) -> None:
        if self._compiler is None:
            swapped = self.follower.refresh()
        else:
            swapped = await asyncio.get_running_loop().run_in_executor(self._compiler, self.follower.refresh)
        if swapped:
            self.instances = instance_registry(self.state_dir)
            snapshot = self.follower.snapshot
            self._prepare_certificates(snapshot)
            self.checker.reconcile()
            await self.ingress.sync(v.id for v in snapshot.vpcs.values() if v.network_arn)
            await self._refresh_albs()
            self.live_version = snapshot.version

    async def _refresh_albs(self) -> None:
        store = self.follower.store
        if self._compiler is None:
            version, records = store.read_all(alb_names.KINDS)
        else:
            loop = asyncio.get_running_loop()
            version, records = await loop.run_in_executor(self._compiler, store.read_all, alb_names.KINDS)
        self.albs = compile_albs(version, records, time.time())
        self.alb_checker.reconcile()
        await self.alb_servers.sync(self.albs)

    def _prepare_certificates(self, snapshot: Snapshot) -> None:
        """Issue managed certificates when a snapshot compiles, not inside a TLS handshake (RSA keys take time)."""
        for services in snapshot.services_by_host.values():
            for service in services:
                if _has_https(service):
                    self.ca.certificate_for_service_name(service.dns_name, account=service.account)

    async def stop(self) -> None:
        self.checker.stop()
        self.alb_checker.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.relay.close()
        await self.alb_servers.close()
        await self.ingress.close()
        self.metrics.flush()
        self.logs.close()
        if self._compiler is not None:
            # Let a compile in flight finish before its store connection closes.
            self._compiler.shutdown(wait=True)
            self.follower.store.close()


def _has_https(service: ServiceView) -> bool:
    return any(listener.protocol == "HTTPS" for listener in service.listeners.values())
