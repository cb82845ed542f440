"""Runs the control-plane API: builds the store, backend and gateway for a state dir and serves them with
uvicorn (httptools, uvloop when installed). SIGINT/SIGTERM shut it down cleanly, closing the store."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import uvicorn

from latticework.config import Settings
from latticework.control.api.app import ControlApp
from latticework.control.api.gateway import Gateway
from latticework.control.backend import Backend
from latticework.control.store.sqlite import SqliteStore

__all__ = ["build_app", "serve"]

DEFAULT_API_PORT = 9750


def build_app(state_dir: Path, settings: Settings) -> ControlApp:
    store = SqliteStore(state_dir / "latticework.db")
    return ControlApp(Gateway(Backend(store, settings)))


def serve(state_dir: Path, settings: Settings, host: str = "127.0.0.1", port: int = DEFAULT_API_PORT) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(state_dir, settings)
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
    logging.getLogger(__name__).info("Latticework API on http://%s:%d (state dir %s)", host, port, state_dir)
    try:
        uvicorn.Server(config).run()
    finally:
        app.gateway.backend.store.close()
