"""Real traffic through a real server: VPC ingress, service selection, rules, weights, headers, health, logs."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import ssl
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest
from topology import Backend, Network, eventually, forward, get_json

from latticework.dataplane.vpcenv import vpc_environment


def test_request_through_the_vpc_ingress_reaches_the_target_with_lattice_headers(
    network: Network, backend: Any
) -> None:
    vpc = network.add_vpc("ui")
    group = network.target_group("checkout-tg", backend("checkout"))
    service = network.service("checkout", forward((group, 100)))
    opener = network.opener(vpc)
    host = service["dnsEntry"]["domainName"]
    spoofed = {
        "x-amzn-source-vpc": "vpc-0ffffffffffffffff",
        "x-amzn-lattice-identity": "Principal=arn:aws:iam::1:root",
        "x-forwarded-for": "6.6.6.6",
    }
    status, headers, echoed = get_json(opener, f"http://{host}/cart?item=1", headers=spoofed)
    assert status == 200 and echoed["backend"] == "checkout"
    assert echoed["path"] == "/cart?item=1"
    seen = echoed["headers"]
    assert seen["host"] == host
    assert seen["x-amzn-source-vpc"] == vpc
    assert seen["x-forwarded-for"] == "127.0.0.1" and seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-port"] == "80"
    assert seen["x-amzn-lattice-network"] == f"SourceVpcArn=arn:aws:ec2:us-west-2:000000000000:vpc/{vpc}"
    assert seen["x-amzn-lattice-target"] == (
        f"ServiceArn={service['arn']}; ServiceNetworkArn={network.network['arn']}; "
        f"TargetGroupArn=arn:aws:vpc-lattice:us-west-2:000000000000:targetgroup/{group}"
    )
    assert "x-amzn-lattice-identity" not in seen
    assert headers["x-amzn-requestid"] == seen["x-amzn-requestid"]


def test_two_vpcs_reach_the_service_and_an_unassociated_vpc_gets_404(network: Network, backend: Any) -> None:
    ui, other = network.add_vpc("ui"), network.add_vpc("other-app")
    service = network.service("orders", forward((network.target_group("orders-tg", backend("orders")), 100)))
    url = f"http://{service['dnsEntry']['domainName']}/orders"
    for vpc in (ui, other):
        assert get_json(network.opener(vpc), url)[2]["backend"] == "orders"
    # A VPC on another service network has an ingress too, but this service is not in its network.
    elsewhere = network.lattice.create_service_network(name="elsewhere")
    outside = network.add_vpc("outside", associate=False)
    network.lattice.create_service_network_vpc_association(
        serviceNetworkIdentifier=elsewhere["id"], vpcIdentifier=outside
    )
    status, _, body = get_json(network.opener(outside), url)
    assert (status, body) == (404, "Non Existent Service")


def test_direct_mode_routes_by_host_header(network: Network, backend: Any) -> None:
    vpc = network.add_vpc("ui")
    service = network.service("direct", forward((network.target_group("direct-tg", backend("direct")), 100)))
    port = network.ingress_port(vpc)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/x", headers={"Host": service["dnsEntry"]["domainName"]})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read())["backend"] == "direct"


def test_rules_route_by_path_header_and_method_with_fixed_responses(network: Network, backend: Any) -> None:
    vpc = network.add_vpc("ui")
    groups = {name: network.target_group(f"{name}-tg", backend(name)) for name in ("default", "api", "beta", "post")}
    service = network.service("routed", forward((groups["default"], 100)))
    [listener] = network.lattice.list_listeners(serviceIdentifier=service["id"])["items"]
    ids = {"serviceIdentifier": service["id"], "listenerIdentifier": listener["id"]}
    rules = [
        (10, {"pathMatch": {"match": {"prefix": "/api"}}}, forward((groups["api"], 1))),
        (20, {"headerMatches": [{"name": "x-channel", "match": {"exact": "beta"}}]}, forward((groups["beta"], 1))),
        (30, {"method": "POST"}, forward((groups["post"], 1))),
        (
            40,
            {"pathMatch": {"match": {"exact": "/gone"}, "caseSensitive": True}},
            {"fixedResponse": {"statusCode": 404}},
        ),
        (50, {"pathMatch": {"match": {"exact": "/broken"}}}, _fixed(500)),
    ]
    for priority, match, action in rules:
        network.lattice.create_rule(
            **ids, name=f"r{priority}", priority=priority, match={"httpMatch": match}, action=action
        )
    network.settle()
    opener, host = network.opener(vpc), service["dnsEntry"]["domainName"]

    def where(path: str, **kwargs: Any) -> Any:
        status, _, body = get_json(opener, f"http://{host}{path}", **kwargs)
        return body["backend"] if status == 200 else status

    assert where("/API/v1") == "api"
    assert where("/shop", headers={"X-Channel": "BETA"}) == "beta"
    assert where("/shop", method="POST", data=b"{}") == "post"
    assert where("/gone") == 404 and where("/GONE") == "default"
    assert where("/broken") == 500
    assert where("/shop") == "default"


def test_weights_80_20_hold_within_5_points_over_1000_requests(network: Network, backend: Any) -> None:
    vpc = network.add_vpc("ui")
    blue, green = network.target_group("blue", backend("blue")), network.target_group("green", backend("green"))
    service = network.service("weighted", forward((blue, 80), (green, 20)))
    opener, url = network.opener(vpc), f"http://{service['dnsEntry']['domainName']}/"
    counts = Counter(get_json(opener, url)[2]["backend"] for _ in range(1000))
    assert abs(counts["blue"] / 1000 - 0.80) <= 0.05 and counts["blue"] + counts["green"] == 1000


def test_an_api_change_is_live_without_restart(network: Network, backend: Any) -> None:
    vpc = network.add_vpc("ui")
    blue, green = network.target_group("blue", backend("blue")), network.target_group("green", backend("green"))
    service = network.service("shifting", forward((blue, 100)))
    [listener] = network.lattice.list_listeners(serviceIdentifier=service["id"])["items"]
    opener, url = network.opener(vpc), f"http://{service['dnsEntry']['domainName']}/"
    assert get_json(opener, url)[2]["backend"] == "blue"
    network.lattice.update_listener(
        serviceIdentifier=service["id"], listenerIdentifier=listener["id"], defaultAction=forward((green, 100))
    )
    started = time.monotonic()
    eventually(lambda: get_json(opener, url)[2]["backend"] == "green", timeout=2)
    assert time.monotonic() - started < 2


def test_round_robin_over_healthy_targets_then_traffic_moves_off_an_unhealthy_one_then_fails_open(
    make_server: Any, backend: Any
) -> None:
    # Health checks 50x faster than configured, so a 5 s interval takes 0.1 s here.
    network = Network.on(make_server("--health-interval-scale", "0.02"))
    vpc = network.add_vpc("ui")
    one, two = backend("one"), backend("two")
    group = network.target_group("pair", one, two)
    network.lattice.update_target_group(
        targetGroupIdentifier=group,
        healthCheck={
            "path": "/health",
            "healthCheckIntervalSeconds": 5,
            "healthyThresholdCount": 2,
            "unhealthyThresholdCount": 2,
        },
    )
    service = network.service("pair-svc", forward((group, 100)))
    opener, url = network.opener(vpc), f"http://{service['dnsEntry']['domainName']}/"

    def statuses() -> dict[int, tuple[str, str | None]]:
        items = network.lattice.list_targets(targetGroupIdentifier=group)["items"]
        return {t["port"]: (t["status"], t.get("reasonCode")) for t in items}

    def spread(n: int = 6) -> Counter[str]:
        return Counter(get_json(opener, url)[2]["backend"] for _ in range(n))

    eventually(lambda: {s for s, _ in statuses().values()} == {"HEALTHY"})
    assert spread() == {"one": 3, "two": 3}
    two.server.health_status = 500
    eventually(lambda: statuses()[two.port] == ("UNHEALTHY", "HealthCheckFailed"))
    assert spread() == {"one": 6}
    one.server.health_status = 500
    eventually(lambda: statuses()[one.port][0] == "UNHEALTHY")
    # Lattice UG "Target groups": with only unhealthy targets, requests go to all of them.
    assert spread() == {"one": 3, "two": 3}


def test_malformed_requests_get_400_and_a_closed_connection(network: Network, backend: Any) -> None:
    vpc = network.add_vpc("ui")
    service = network.service("strict", forward((network.target_group("strict-tg", backend("strict")), 100)))
    host = service["dnsEntry"]["domainName"]
    port = network.ingress_port(vpc)
    bad = [
        f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        f"GET / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        f"GET / HTTP/1.1\r\nHost: {host}\r\nX-Folded: a\r\n b\r\n\r\n",
        f"GET / HTTP/1.1\nHost: {host}\n\n",
        f"GET / HTTP/1.1\r\nHost: {host}\r\nX-Nul: a\x00b\r\n\r\n",
        f"GET / HTTP/1.1\r\nHost: {host}\r\n" + "".join(f"X-H{i}: v\r\n" for i in range(101)) + "\r\n",
        # Broken chunk framing shows only once the request is on its way to the target.
        f"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
    ]
    for raw in bad:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(raw.encode("latin-1"))
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400 "), (raw, answer[:80])


def test_https_listener_through_connect_with_the_generated_name_and_a_custom_domain(
    network: Network, backend: Any
) -> None:
    vpc = network.add_vpc("ui")
    state = Path(network.server.state_dir)
    from latticework.pki.ca import LocalCA

    ca = LocalCA(state / "pki")
    cert = ca.issue(["checkout.example.com"], "000000000000", "us-west-2")
    group = network.target_group("tls-tg", backend("secure"))
    service = network.service(
        "secure", forward((group, 100)), customDomainName="checkout.example.com", certificateArn=cert.arn
    )
    context = ssl.create_default_context(cafile=str(ca.bundle_path))
    opener = network.opener(vpc, https=urllib.request.HTTPSHandler(context=context))
    for host in ("checkout.example.com", service["dnsEntry"]["domainName"]):
        status, _, echoed = get_json(opener, f"https://{host}/pay")
        assert status == 200 and echoed["backend"] == "secure"
        assert echoed["headers"]["x-forwarded-proto"] == "https" and echoed["headers"]["x-forwarded-port"] == "443"


def test_access_log_records_carry_every_field(network: Network, backend: Any) -> None:
    vpc = network.add_vpc("ui")
    service = network.service("logged", forward((network.target_group("logged-tg", backend("logged")), 100)))
    network.lattice.create_access_log_subscription(
        resourceIdentifier=service["id"], destinationArn="arn:aws:logs:us-west-2:000000000000:log-group:store"
    )
    opener, host = network.opener(vpc), service["dnsEntry"]["domainName"]
    eventually(
        lambda: network.server.client().list_access_log_subscriptions(resourceIdentifier=service["id"])["items"] != []
    )
    time.sleep(0.2)
    get_json(opener, f"http://{host}/a?b=c", headers={"User-Agent": "probe/1"})
    logs = Path(network.server.state_dir) / "logs"
    eventually(lambda: any(p.is_file() for p in logs.rglob("*.log")), timeout=5)
    [path] = [p for p in logs.rglob("*.log")]
    record = json.loads(path.read_text().splitlines()[-1])
    assert record["requestPath"] == "/a?b=c" and record["requestMethod"] == "GET"
    assert record["serviceArn"] == service["arn"] and record["sourceVpcId"] == vpc
    assert record["responseCode"] == 200 and record["userAgent"] == "probe/1"
    assert record["hostHeader"] == host and record["failureReason"] == "-"
    assert record["targetIpPort"].startswith("127.0.0.1:")
    for name in ("startTime", "duration", "bytesReceived", "bytesSent", "requestId", "resolvedUser", "targetGroupArn"):
        assert name in record


def _fixed(status: int) -> dict[str, Any]:
    return {"fixedResponse": {"statusCode": status}}


def test_vpc_env_exports_point_at_the_ingress_and_the_ca() -> None:
    env = vpc_environment(4321, Path("/state/pki/ca.pem"))
    assert env["HTTP_PROXY"] == env["https_proxy"] == "http://127.0.0.1:4321"
    assert env["SSL_CERT_FILE"] == env["NODE_EXTRA_CA_CERTS"] == env["CURL_CA_BUNDLE"] == "/state/pki/ca.pem"
    assert "127.0.0.1" in env["NO_PROXY"]


def test_two_workers_share_the_ingress_and_both_follow_config_changes(make_server: Any, backend: Any) -> None:
    network = Network.on(make_server("--workers", "2"))
    vpc = network.add_vpc("ui")
    blue, green = network.target_group("blue", backend("blue")), network.target_group("green", backend("green"))
    service = network.service("workers", forward((blue, 100)))
    url = f"http://{service['dnsEntry']['domainName']}/"
    port = network.ingress_port(vpc)

    def fresh_connection_backend() -> str:
        # A new connection each time, so the kernel spreads them over both workers' sockets.
        request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": url.split("/")[2]})
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(json.loads(response.read())["backend"])

    eventually(lambda: all(fresh_connection_backend() == "blue" for _ in range(20)))
    [listener] = network.lattice.list_listeners(serviceIdentifier=service["id"])["items"]
    network.lattice.update_listener(
        serviceIdentifier=service["id"], listenerIdentifier=listener["id"], defaultAction=forward((green, 100))
    )
    # Worker 0 reports the version; the other worker polls the same store on the same schedule.
    eventually(lambda: all(fresh_connection_backend() == "green" for _ in range(40)), timeout=3)


def test_instance_targets_resolve_through_the_instance_registry(network: Network, backend: Any) -> None:
    vpc = network.add_vpc("ui")
    target = backend("instance")
    (Path(network.server.state_dir) / "instances.json").write_text(json.dumps({"i-0123456789abcdef0": "127.0.0.1"}))
    group = network.lattice.create_target_group(
        name="instances", type="INSTANCE", config={"port": target.port, "protocol": "HTTP", "vpcIdentifier": vpc}
    )["id"]
    network.lattice.register_targets(targetGroupIdentifier=group, targets=[{"id": "i-0123456789abcdef0"}])
    service = network.service("on-instances", forward((group, 100)))
    status, _, echoed = get_json(network.opener(vpc), f"http://{service['dnsEntry']['domainName']}/")
    assert status == 200 and echoed["backend"] == "instance"


def test_https_target_groups_are_reached_over_tls_without_verifying_the_target(
    network: Network, backend: Any, tmp_path: Path
) -> None:
    from latticework.pki.ca import LocalCA

    # A target certificate from a CA the data plane has never heard of: Lattice does not verify targets.
    foreign = LocalCA(tmp_path / "foreign-ca").issue(["target.internal.example"], "000000000000", "us-west-2")
    target = backend("tls-target")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(foreign.certificate_path, foreign.private_key_path)
    target.server.socket = context.wrap_socket(target.server.socket, server_side=True)
    vpc = network.add_vpc("ui")
    group = network.target_group("tls-group", target, protocol="HTTPS")
    service = network.service("to-tls", forward((group, 100)))
    status, _, echoed = get_json(network.opener(vpc), f"http://{service['dnsEntry']['domainName']}/secure")
    assert status == 200 and echoed["backend"] == "tls-target" and echoed["path"] == "/secure"


def test_shutdown_does_not_wait_for_idle_keep_alive_clients(network: Network, backend: Any) -> None:
    vpc = network.add_vpc("ui")
    service = network.service("idle", forward((network.target_group("idle-tg", backend("idle")), 100)))
    host = service["dnsEntry"]["domainName"]
    with socket.create_connection(("127.0.0.1", network.ingress_port(vpc)), timeout=5) as idle:
        idle.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        answer = b""
        while not answer.endswith(b"}"):  # the echo's JSON body ends the response
            answer += idle.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 ")
        # The connection stays open and idle (60 s idle timeout); SIGTERM must still stop the server promptly.
        network.server.stop(timeout=15)  # raises if the process has not exited by then
        assert idle.recv(65536) == b""


# -- the relay's framing, streaming and failure paths, against scripted raw-socket targets ---------------------


Script = Callable[[socket.socket, BinaryIO, bytes], None]


class _ScriptedTarget:
    """A target that runs `script(connection, stream, head)` on each connection whose first request carries
    `X-Test: 1` (others are health checks): raw bytes, for framings and failures the echo backend cannot produce."""

    def __init__(self, script: Script) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.script = script
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._run, args=(connection,), daemon=True).start()

    def _run(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            stream = connection.makefile("rb")
            head = _read_until(stream, b"\r\n\r\n")
            if b"\r\nx-test: 1\r\n" not in head.lower():  # a health check: this target is healthy
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            self.script(connection, stream, head)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def scripted() -> Iterator[Callable[[Script], _ScriptedTarget]]:
    targets: list[_ScriptedTarget] = []

    def start(script: Script) -> _ScriptedTarget:
        targets.append(_ScriptedTarget(script))
        return targets[-1]

    yield start
    for target in targets:
        target.close()


def _read_until(stream: BinaryIO, marker: bytes) -> bytes:
    data = b""
    while not data.endswith(marker):
        byte = stream.read(1)
        if not byte:
            raise ConnectionError(f"closed before {marker!r}: {data[-80:]!r}")
        data += byte
    return data


def _read_chunked(stream: BinaryIO) -> bytes:
    body = b""
    while size := int(_read_until(stream, b"\r\n")[:-2].split(b";")[0], 16):
        body += stream.read(size)
        assert stream.read(2) == b"\r\n"
    assert _read_until(stream, b"\r\n") == b"\r\n"  # no trailers
    return body


def _read_response(stream: BinaryIO) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response off a buffered socket stream: status, headers, de-chunked body."""
    head = _read_until(stream, b"\r\n\r\n").decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
    if headers.get("transfer-encoding") == "chunked":
        body = _read_chunked(stream)
    else:
        body = stream.read(int(headers.get("content-length", "0")))
    return int(head[0].split()[1]), headers, body


def _scripted_service(network: Network, target: _ScriptedTarget, name: str) -> tuple[int, str]:
    """A service forwarding to `target`: the ingress port and the Host to send."""
    vpc = network.add_vpc("ui")
    group = network.target_group(f"{name}-tg", cast(Backend, target))
    service = network.service(name, forward((group, 100)))
    return network.ingress_port(vpc), service["dnsEntry"]["domainName"]


def test_pipelined_requests_are_answered_in_order_on_one_connection(network: Network, backend: Any) -> None:
    vpc = network.add_vpc("ui")
    service = network.service("piped", forward((network.target_group("piped-tg", backend("piped")), 100)))
    host = service["dnsEntry"]["domainName"]
    with socket.create_connection(("127.0.0.1", network.ingress_port(vpc)), timeout=10) as conn:
        stream = conn.makefile("rb")
        conn.sendall(b"".join(f"GET /{n} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() for n in range(5)))
        paths = [json.loads(_read_response(stream)[2])["path"] for _ in range(5)]
    assert paths == ["/0", "/1", "/2", "/3", "/4"]


def test_chunked_bodies_are_relayed_both_ways(network: Network, scripted: Any) -> None:
    def echo_chunked(conn: socket.socket, stream: BinaryIO, head: bytes) -> None:
        while True:
            assert b"transfer-encoding: chunked" in head.lower() and b"content-length" not in head.lower()
            body = _read_chunked(stream)
            reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            reply += b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:3], body[3:])) + b"0\r\n\r\n"
            conn.sendall(reply)
            head = _read_until(stream, b"\r\n\r\n")

    port, host = _scripted_service(network, scripted(echo_chunked), "chunky")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        stream = conn.makefile("rb")
        for text in (b"hello chunked world", b"again"):
            chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in (text[:4], text[4:])) + b"0\r\n\r\n"
            request = f"POST /c HTTP/1.1\r\nHost: {host}\r\nX-Test: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
            conn.sendall(request.encode() + chunks)
            status, headers, body = _read_response(stream)
            assert (status, body) == (200, text) and headers["transfer-encoding"] == "chunked"


def test_large_bodies_stream_both_ways_to_a_slow_reader(network: Network, scripted: Any) -> None:
    size = 8 * 1024 * 1024

    def reverse(conn: socket.socket, stream: BinaryIO, head: bytes) -> None:
        length = int(head.decode("latin-1").lower().split("content-length:")[1].split("\r\n")[0])
        body = stream.read(length)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body[::-1])

    port, host = _scripted_service(network, scripted(reverse), "bulk")
    payload = hashlib.sha256(b"seed").digest() * (size // 32)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        head = f"PUT /bulk HTTP/1.1\r\nHost: {host}\r\nX-Test: 1\r\nContent-Length: {size}\r\n\r\n"
        conn.sendall(head.encode() + payload)
        time.sleep(0.5)  # the relay's buffers toward us fill up: it must stop reading the target, not grow
        status, _, body = _read_response(conn.makefile("rb"))
    assert status == 200 and len(body) == size and body == payload[::-1]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (b"", "TargetConnectionClosed"),  # closes without a word
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "TargetProtocolError"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "TargetConnectionClosed"),  # mid-body: cut off
    ],
)
def test_a_target_that_breaks_http_gets_the_client_a_502_or_a_cut_response(
    network: Network, scripted: Any, answer: bytes, reason: str
) -> None:
    def broken(conn: socket.socket, stream: BinaryIO, head: bytes) -> None:
        conn.sendall(answer)

    port, host = _scripted_service(network, scripted(broken), f"broken-{len(answer)}")
    network.lattice.create_access_log_subscription(
        resourceIdentifier=network.lattice.list_services()["items"][-1]["id"],
        destinationArn="arn:aws:logs:us-west-2:000000000000:log-group:broken",
    )
    network.settle()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        stream = conn.makefile("rb")
        conn.sendall(f"GET /x HTTP/1.1\r\nHost: {host}\r\nX-Test: 1\r\n\r\n".encode())
        if answer.endswith(b"short"):
            # The head already went out with status 200: all the relay can do is cut the connection short.
            assert _read_response(stream)[::2] == (200, b"short") and stream.read() == b""
        else:
            status, headers, _ = _read_response(stream)
            assert status == 502 and headers["x-amzn-requestid"]
            conn.sendall(f"GET /y HTTP/1.1\r\nHost: {host}\r\nX-Test: 1\r\n\r\n".encode())  # the connection lives on
            assert _read_response(stream)[0] == 502
    logs = Path(network.server.state_dir) / "logs"
    eventually(lambda: any(p.name.endswith(".log") for p in logs.rglob("*")), timeout=5)
    records = [json.loads(line) for p in logs.rglob("*.log") for line in p.read_text().splitlines()]
    assert records[0]["failureReason"] == reason and records[0]["requestPath"] == "/x"


@pytest.mark.slow
def test_a_silent_target_gets_504_after_the_services_idle_timeout(network: Network, scripted: Any) -> None:
    """Lattice's minimum idleTimeoutSeconds is 60, so this takes a minute."""
    silent = threading.Event()

    def never_answers(conn: socket.socket, stream: BinaryIO, head: bytes) -> None:
        silent.wait(120)

    port, host = _scripted_service(network, scripted(never_answers), "silent")
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=90) as conn:
        conn.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nX-Test: 1\r\n\r\n".encode())
        status, _, body = _read_response(conn.makefile("rb"))
    silent.set()
    assert status == 504 and b"did not answer in time" in body
    assert 59 <= time.monotonic() - started < 90
