"""Shared fixtures: a real `latticework server` process on a free port with its own state dir, and boto3
clients pointed at it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from postgres_kit import pg_schema, pg_url  # noqa: F401 - fixtures for every test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A `latticework server` child process; restartable on the same state dir."""

    state_dir: Path
    port: int
    args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        command = [
            sys.executable,
            "-m",
            "latticework",
            "server",
            "--state-dir",
            str(self.state_dir),
            "--api-port",
            str(self.port),
            *self.args,
        ]
        log = open(self.state_dir.parent / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/_latticework/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not become healthy in 60 s")

    def stop(self, kill: bool = False, timeout: float | None = None) -> None:
        """SIGTERM (or SIGKILL) and wait. With a `timeout`, a server still running after it fails the caller;
        without one (fixture teardown on a busy machine) it is killed after 60 s."""
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=timeout or 60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            if timeout is not None:
                raise
        finally:
            self.process = None

    def client(self, service: str = "vpc-lattice", region: str = "us-west-2", **kwargs: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=kwargs.pop("access_key", "AKIDEXAMPLE"),
            aws_secret_access_key="secret",
            config=Config(retries={"max_attempts": 1}),
            **kwargs,
        )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the session (tests use unique names, so they do not collide)."""
    base = tmp_path_factory.mktemp("server")
    proc = ServerProcess(base / "state", free_port()).start()
    yield proc
    proc.stop()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """A private server per test, for restarts, kills, quotas and other settings."""
    started: list[ServerProcess] = []

    def make(*args: str) -> ServerProcess:
        proc = ServerProcess(tmp_path / "state", free_port(), tuple(args)).start()
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.stop()


@pytest.fixture
def lattice(server: ServerProcess) -> Any:
    return server.client()


_counter = iter(range(10**9))


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique, pattern-valid resource names: unique('svc') -> 'svc-x-<pid>-<n>' style but valid."""

    def make(prefix: str) -> str:
        return f"{prefix}-t{os.getpid()}-{next(_counter)}"

    return make
