"""The README's first command works as written: scripts/demo installs, runs `latticework up` of the retail store
and prints the URL to open, where the storefront answers."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def health(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_latticework/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.slow
def test_scripts_demo_prints_a_url_that_serves_the_storefront(tmp_path: Path) -> None:
    """`scripts/demo --detach`: the printed URL serves the store's home page; `latticework down` stops it all."""
    port, state = free_port(), tmp_path / "state"
    env = {**os.environ, "LATTICEWORK_API_PORT": str(port), "LATTICEWORK_STATE_DIR": str(state)}
    where = ["--state-dir", str(state), "--api-port", str(port)]
    try:
        done = subprocess.run(["bash", "scripts/demo", "--detach"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        url = re.search(r"^Open (http://127\.0\.0\.1:\d+/)$", done.stdout, re.MULTILINE)
        assert url, done.stdout
        with urllib.request.urlopen(url.group(1), timeout=10) as page:
            assert "Retail Store Sample" in page.read().decode()
    finally:
        down = subprocess.run([str(ROOT / ".venv" / "bin" / "latticework"), "down", *where], capture_output=True,
                              text=True, timeout=120)  # fmt: skip
    assert down.returncode == 0, down.stderr
    assert not health(port)


@pytest.mark.slow
def test_scripts_demo_no_wait_deploys_then_tears_down(tmp_path: Path) -> None:
    """`scripts/demo --no-wait` is a smoke test: it prints the URL, deletes the stack and stops the server."""
    port, state = free_port(), tmp_path / "state"
    env = {**os.environ, "LATTICEWORK_API_PORT": str(port), "LATTICEWORK_STATE_DIR": str(state)}
    done = subprocess.run(["bash", "scripts/demo", "--no-wait"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Open http://127.0.0.1:" in done.stdout and "stack retail-store deleted" in done.stdout
    assert not health(port)
