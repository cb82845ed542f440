"""No acknowledged write is lost: across a clean restart, and across kill -9 in the middle of a create stream."""

from __future__ import annotations

import threading
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


def test_everything_survives_a_restart(make_server: Any) -> None:
    server = make_server()
    lattice = server.client()
    network = lattice.create_service_network(name="keep-net", tags={"team": "store"})
    service = lattice.create_service(name="keep-svc", customDomainName="keep.example.com")
    server.stop()
    server.start()
    lattice = server.client()
    assert lattice.get_service_network(serviceNetworkIdentifier=network["id"])["name"] == "keep-net"
    got = lattice.get_service(serviceIdentifier=service["arn"])
    assert got["customDomainName"] == "keep.example.com"
    assert got["dnsEntry"] == service["dnsEntry"]


def test_kill_9_during_creates_loses_no_answered_create(make_server: Any) -> None:
    server = make_server()
    answered: list[str] = []
    stop = threading.Event()

    def create_stream() -> None:
        lattice = server.client()
        i = 0
        while not stop.is_set():
            try:
                created = lattice.create_service(name=f"burst-{i}")
            except (ClientError, BotoCoreError):
                return
            # A reply cut short by the kill carries no id: it was never answered, so it promises nothing.
            if "id" not in created:
                return
            answered.append(created["id"])
            i += 1

    writer = threading.Thread(target=create_stream)
    writer.start()
    deadline = time.monotonic() + 30
    while len(answered) < 60 and time.monotonic() < deadline and writer.is_alive():
        time.sleep(0.01)
    server.stop(kill=True)
    stop.set()
    writer.join(timeout=10)
    server.start()
    stored = {
        item["id"] for page in server.client().get_paginator("list_services").paginate() for item in page["items"]
    }
    assert answered and set(answered) <= stored
