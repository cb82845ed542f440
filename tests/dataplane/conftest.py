"""Fixtures for data-plane tests: echo backends on 127.0.0.1 and a topology built through the real API."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from topology import Backend, Network, _EchoServer


@pytest.fixture
def backend() -> Iterator[Callable[[str], Backend]]:
    """Start echo backends by name; they answer JSON describing the request they got."""
    started: list[Backend] = []

    def start(name: str) -> Backend:
        server = _EchoServer(name)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append(Backend(server, thread))
        return started[-1]

    yield start
    for b in started:
        b.stop()


@pytest.fixture
def network(make_server: Any) -> Network:
    return Network.on(make_server())
