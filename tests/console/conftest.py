"""Console tests reuse the data-plane tests' echo backends and API-built topology (tests/dataplane/topology.py)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dataplane"))

from topology import Backend, Network, _EchoServer


@pytest.fixture
def backend() -> Iterator[Callable[[str], Backend]]:
    """Start echo backends by name; they answer JSON describing the request they got."""
    started: list[Backend] = []

    def start(name: str) -> Backend:
        server = _EchoServer(name)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(Backend(server, threading.current_thread()))
        return started[-1]

    yield start
    for b in started:
        b.stop()


@pytest.fixture
def network(make_server: Any) -> Network:
    return Network.on(make_server("--health-interval-scale", "0.02"))
