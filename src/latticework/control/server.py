"""Runs the control-plane API: opens the store (SQLite in the state dir, or the `--store` URL), builds the
backend and gateway and serves them with uvicorn (httptools, uvloop when installed). SIGINT/SIGTERM shut it
down cleanly, closing the store."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from latticework.auth import registry
from latticework.auth.principals import Identity
from latticework.compute.ecs_api.app import EcsApi
from latticework.compute.functions.supervisor import FunctionSupervisor
from latticework.compute.lambda_api.app import LambdaApi
from latticework.compute.services.supervisor import ServiceSupervisor
from latticework.config import Settings
from latticework.console import metrics_dir
from latticework.console.app import ConsoleFront
from latticework.console.metrics import FunctionCollector, TaskCollector
from latticework.control.api.app import ControlApp
from latticework.control.api.gateway import Gateway
from latticework.control.backend import Backend
from latticework.control.elbv2.app import ElbApi
from latticework.control.store.factory import open_store, redact
from latticework.dataplane.lambda_target import SupervisorInvoker
from latticework.dataplane.server import DataPlane
from latticework.dataplane.worker import WorkerPool

__all__ = ["build_app", "serve"]

DEFAULT_API_PORT = 9750


def build_app(
    state_dir: Path,
    settings: Settings,
    store_url: str | None = None,
    health_interval_scale: float = 1.0,
    workers: int = 1,
    identities: Sequence[Identity] = (),
    api_port: int = DEFAULT_API_PORT,
) -> ControlApp:
    """The API app on the store `store_url` names (None: SQLite at STATE_DIR/latticework.db), with the data
    plane started and stopped by its lifespan, in the same event loop and on the same store. The data plane
    invokes LAMBDA targets through the function supervisor; extra workers reach it through the API on
    `api_port`."""
    store = open_store(store_url, state_dir)
    if identities:
        registry.add_identities(store, identities)
    supervisor = FunctionSupervisor(state_dir, store)
    dataplane = DataPlane(
        store,
        state_dir,
        reuse_port=workers > 1,
        health_interval_scale=health_interval_scale,
        follow_store=open_store(store_url, state_dir),
        invoker=SupervisorInvoker(supervisor),
        strict=settings.strict,
    )
    pool = WorkerPool(workers - 1, state_dir, store_url, api_port, settings.strict)
    backend = Backend(store, settings)
    services = ServiceSupervisor(
        state_dir, store, backend, scale=health_interval_scale, lease_seconds=settings.lease_seconds
    )
    console = ConsoleFront(
        backend,
        state_dir,
        dataplane.metrics,
        metrics_dir(state_dir),
        supervisor,
        [FunctionCollector(supervisor), TaskCollector(store)],
    )
    return ControlApp(
        Gateway(backend),
        # The request path: each API front in turn claims what is its own; the gateway answers the rest.
        fronts=[
            console,
            EcsApi(store, settings),
            LambdaApi(store, settings, state_dir, supervisor),
            ElbApi(store, settings, lambda arn: dataplane.ca.get(arn) is not None),
        ],
        on_startup=[dataplane.start, pool.start, supervisor.start, services.start],
        on_shutdown=[services.stop, supervisor.stop, pool.stop, dataplane.stop],
        health=dataplane.health,
    )


def serve(
    state_dir: Path,
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = DEFAULT_API_PORT,
    store_url: str | None = None,
    health_interval_scale: float = 1.0,
    workers: int = 1,
    identities: Sequence[Identity] = (),
) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(state_dir, settings, store_url, health_interval_scale, workers, identities, port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )
    logging.getLogger(__name__).info(
        "Latticework API on http://%s:%d (state dir %s, store %s)",
        host,
        port,
        state_dir,
        redact(store_url) if store_url else state_dir / "latticework.db",
    )
    try:
        uvicorn.Server(config).run()
    finally:
        app.gateway.backend.store.close()
