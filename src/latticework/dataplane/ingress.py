"""Ingress endpoints: one listening port on 127.0.0.1 per VPC that is associated with a service network.

The port a VPC gets is recorded in STATE_DIR/dataplane/ingress.json so that it survives restarts (the
`latticework vpc env` exports stay valid) and so that several data-plane workers share it (SO_REUSEPORT): the
first to need a port for a VPC allocates it under a file lock, the others read it. I/O module.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import socket
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["IngressPorts", "IngressServers", "read_ingress_ports"]

log = logging.getLogger(__name__)

Handler = Callable[[str], asyncio.Protocol]  # VPC ID -> the protocol for one new client connection


def read_ingress_ports(state_dir: Path) -> dict[str, int]:
    """VPC ID -> ingress port, as recorded (empty when the data plane never ran)."""
    path = state_dir / "dataplane" / "ingress.json"
    try:
        return {str(k): int(v) for k, v in json.loads(path.read_text()).items()}
    except (FileNotFoundError, ValueError):
        return {}


class IngressPorts:
    """The VPC -> port table in the state dir, read and extended under an exclusive file lock."""

    def __init__(self, state_dir: Path, host: str = "127.0.0.1") -> None:
        self.directory = state_dir / "dataplane"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "ingress.json"
        self.host = host

    def port_for(self, vpc_id: str, *, taken: int | None = None) -> int:
        """The recorded port of a VPC; a fresh free port if it has none (or if `taken` says its old one is
        in use by someone else)."""
        with open(self.directory / "ingress.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            ports = read_ingress_ports(self.directory.parent)
            port = ports.get(vpc_id)
            if port is None or port == taken:
                port = _free_port(self.host)
                ports[vpc_id] = port
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(ports, indent=2, sort_keys=True))
                os.replace(tmp, self.path)
            return port


class IngressServers:
    """Keeps one listening server per reachable VPC, in step with the snapshot."""

    def __init__(self, ports: IngressPorts, handler: Handler, *, reuse_port: bool = False) -> None:
        self.ports = ports
        self.handler = handler
        self.reuse_port = reuse_port
        self.servers: dict[str, asyncio.Server] = {}

    async def sync(self, vpc_ids: Iterable[str]) -> None:
        wanted = set(vpc_ids)
        for vpc_id in sorted(set(self.servers) - wanted):
            server = self.servers.pop(vpc_id)
            server.close()
            log.info("ingress for %s closed", vpc_id)
        for vpc_id in sorted(wanted - set(self.servers)):
            self.servers[vpc_id] = await self._open(vpc_id)

    async def _open(self, vpc_id: str) -> asyncio.Server:
        port = self.ports.port_for(vpc_id)
        for _ in range(3):
            try:
                server = await asyncio.get_running_loop().create_server(
                    lambda: self.handler(vpc_id), self.ports.host, port, reuse_port=self.reuse_port
                )
            except OSError:
                # Someone else holds the recorded port (a restart after another program took it): move.
                port = self.ports.port_for(vpc_id, taken=port)
                continue
            log.info("ingress for %s on http://%s:%d", vpc_id, self.ports.host, port)
            return server
        raise OSError(f"could not open an ingress port for {vpc_id}")

    async def close(self) -> None:
        for server in self.servers.values():
            server.close()
        for server in self.servers.values():
            with contextlib.suppress(Exception):
                # Bounded: some event loops wait here for every connection the server ever accepted.
                await asyncio.wait_for(server.wait_closed(), 2)
        self.servers.clear()


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
