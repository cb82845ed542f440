"""The README's first command works as written: scripts/demo builds a network and sends traffic through it."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_scripts_demo_serves_traffic_end_to_end(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LATTICEWORK_API_PORT": str(free_port()),
        "LATTICEWORK_DEMO_TARGET_PORT": str(free_port()),
        "LATTICEWORK_STATE_DIR": str(tmp_path / "state"),
    }
    done = subprocess.run(
        ["bash", "scripts/demo", "--no-wait"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "\n200 " in done.stdout and "# The data plane: real traffic" in done.stdout
