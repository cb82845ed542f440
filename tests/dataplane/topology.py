"""Echo backends, a Lattice topology built through the real API, and talking to it through a VPC's ingress."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _EchoServer

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        payload = {
            "backend": self.server.name,
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("latin-1"),
        }
        data = json.dumps(payload).encode()
        status = self.server.health_status if self.path.startswith("/health") else self.server.status
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *args: Any) -> None:
        pass


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.name = name
        self.status = 200
        self.health_status = 200  # what /health* answers: the target's health check path in these tests

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Aborted exchanges (a client body rejected mid-request, a TLS probe) are expected in these tests.
        pass

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # Like any production server: without it, Nagle + delayed ACK add 40 ms to pooled keep-alive exchanges.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address


@dataclass
class Backend:
    server: _EchoServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Network:
    """A service network with VPCs associated, built through boto3 against a real server."""

    server: Any
    lattice: Any
    ec2: Any
    network: dict[str, Any]
    vpcs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def on(cls, server: Any) -> Network:
        lattice, ec2 = server.client(), server.client("ec2")
        return cls(server, lattice, ec2, lattice.create_service_network(name="store-net"))

    def add_vpc(self, name: str, associate: bool = True) -> str:
        vpc = self.ec2.create_vpc(
            CidrBlock="10.0.0.0/16",
            TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}],
        )["Vpc"]["VpcId"]
        if associate:
            self.lattice.create_service_network_vpc_association(
                serviceNetworkIdentifier=self.network["id"], vpcIdentifier=vpc
            )
        self.vpcs[name] = vpc
        return vpc

    def target_group(self, name: str, *backends: Backend, vpc: str | None = None, protocol: str = "HTTP") -> str:
        config = {
            "port": backends[0].port if backends else 80,
            "protocol": protocol,
            "vpcIdentifier": vpc or next(iter(self.vpcs.values())),
        }
        group = self.lattice.create_target_group(name=name, type="IP", config=config)["id"]
        if backends:
            self.lattice.register_targets(
                targetGroupIdentifier=group, targets=[{"id": "127.0.0.1", "port": b.port} for b in backends]
            )
        return group

    def service(self, name: str, default_action: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        service = self.lattice.create_service(name=name, **kwargs)
        protocol = "HTTPS" if kwargs.get("customDomainName") or kwargs.pop("https", False) else "HTTP"
        self.lattice.create_listener(
            serviceIdentifier=service["id"], name="main", protocol=protocol, defaultAction=default_action
        )
        self.lattice.create_service_network_service_association(
            serviceNetworkIdentifier=self.network["id"], serviceIdentifier=service["id"]
        )
        self.settle()
        return service

    def settle(self) -> None:
        """Wait until the data plane serves the config version the store is at."""

        def health() -> dict[str, Any]:
            with urllib.request.urlopen(f"{self.server.url}/_latticework/health", timeout=5) as response:
                return dict(json.loads(response.read()))

        eventually(lambda: (h := health())["dataPlaneVersion"] >= h["configVersion"])

    def ingress_port(self, vpc: str, timeout: float = 5.0) -> int:
        self.settle()
        path = Path(self.server.state_dir) / "dataplane" / "ingress.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return int(json.loads(path.read_text())[vpc])
            except (FileNotFoundError, KeyError, ValueError):
                time.sleep(0.02)
        raise AssertionError(f"no ingress for {vpc}")

    def opener(self, vpc: str, **handlers: Any) -> urllib.request.OpenerDirector:
        proxy = f"http://127.0.0.1:{self.ingress_port(vpc)}"
        return urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": proxy, "https": proxy}), *handlers.values()
        )


def forward(*groups: tuple[str, int]) -> dict[str, Any]:
    return {"forward": {"targetGroups": [{"targetGroupIdentifier": g, "weight": w} for g, w in groups]}}


def get_json(opener: urllib.request.OpenerDirector, url: str, **kwargs: Any) -> tuple[int, dict[str, Any], Any]:
    request = urllib.request.Request(url, **kwargs)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
