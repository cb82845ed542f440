"""`latticework status`: the picture as tables from the store, with live stats from the server when it answers,
and the store alone when it does not."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from topology import Network, forward


def run_status(network: Network) -> str:
    server = network.server
    command = [sys.executable, "-m", "latticework", "status", "--state-dir", str(server.state_dir),
               "--api-port", str(server.port)]  # fmt: skip
    env = {**os.environ, "COLUMNS": "260", "NO_COLOR": "1"}
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True, timeout=60).stdout


def test_status_shows_the_network_with_and_without_the_server(network: Network, backend: Any) -> None:
    """Names, weights and target health while the server runs; the same resources (and a note) once it stops."""
    vpc = network.add_vpc("status-client")
    blue, green = network.target_group("sblue", backend("b")), network.target_group("sgreen", backend("g"))
    service = network.service("status-svc", forward((blue, 70), (green, 30)))
    up = run_status(network)
    for needle in ("store-net", vpc, "status-svc", service["dnsEntry"]["domainName"], "sblue 70", "sgreen 30"):
        assert needle in up, needle
    assert "does not answer" not in up
    network.server.stop()
    down = run_status(network)
    assert "does not answer" in down and "status-svc" in down and "sblue 70" in down


def test_status_without_state_says_what_to_do(tmp_path: Any) -> None:
    result = subprocess.run([sys.executable, "-m", "latticework", "status", "--state-dir", str(tmp_path / "none")],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1 and "latticework up" in result.stderr
