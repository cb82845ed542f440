"""ALBs on the relay, end to end on 127.0.0.1: an internet-facing ALB answered to a plain client (forward,
fixed-response, redirect, X-Forwarded-*), and a Lattice ALB target group reaching an internal ALB in a second
VPC with the same CIDR."""

from __future__ import annotations

import http.client
import json
import re
import shlex
import socket
import time
from pathlib import Path
from typing import Any

from topology import Backend, Network, eventually, get_json
from typer.testing import CliRunner

from latticework.cli.main import app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def alb_setup(network: Network, backends: list[Backend], scheme: str, vpc: str, port: int) -> dict[str, Any]:
    elbv2 = network.server.client("elbv2")
    group = elbv2.create_target_group(
        Name=f"tg-{scheme[:3]}-{port}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": b.port} for b in backends])
    lb = elbv2.create_load_balancer(Name=f"alb-{scheme[:3]}-{port}", Subnets=[vpc], Scheme=scheme)["LoadBalancers"][0]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )["Listeners"][0]["ListenerArn"]  # fmt: skip
    elbv2.create_rule(
        ListenerArn=listener, Priority=1,
        Conditions=[{"Field": "path-pattern", "Values": ["/maintenance*"]}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "503", "ContentType": "application/json", "MessageBody": '{"down":true}'}}],
    )  # fmt: skip
    elbv2.create_rule(
        ListenerArn=listener, Priority=2,
        Conditions=[{"Field": "path-pattern", "Values": ["/old/*"]}],
        Actions=[{"Type": "redirect", "RedirectConfig": {"Path": "/new/#{path}", "StatusCode": "HTTP_301"}}],
    )  # fmt: skip
    network.settle()
    return {"lb": lb, "group": group, "listener": listener}


def request(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_internet_facing_alb_serves_a_plain_client(network: Network, backend: Any) -> None:
    """Rules in priority order, then the default forward round robin over both targets."""
    backends = [backend("a"), backend("b")]
    vpc = network.add_vpc("web", associate=False)
    port = free_port()
    alb_setup(network, backends, "internet-facing", vpc, port)
    seen = set()

    def reached() -> bool:
        try:
            status, _, body = request(port, "/cart?x=1", {"x-forwarded-for": "203.0.113.9"})
        except OSError:
            return False
        if status == 200:
            echo = json.loads(body)
            seen.add(echo["backend"])
            headers = echo["headers"]
            assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
            assert (headers["x-forwarded-proto"], headers["x-forwarded-port"]) == ("http", str(port))
            assert headers["x-amzn-trace-id"].startswith("Root=1-")
            assert echo["path"] == "/cart?x=1"
        return seen == {"a", "b"}

    eventually(reached)
    status, headers, body = request(port, "/maintenance")
    assert (status, headers["content-type"], body) == (503, "application/json", b'{"down":true}')
    status, headers, _ = request(port, "/old/page?q=1")
    assert status == 301
    assert headers["location"] == f"http://127.0.0.1:{port}/new/old/page?q=1"


def test_lattice_alb_target_group_reaches_an_internal_alb(network: Network, backend: Any) -> None:
    """The seed's checkout path: Lattice service -> target group of type ALB -> internal ALB -> targets, the
    ALB's VPC having the client VPC's CIDR."""
    backends = [backend("checkout-1"), backend("checkout-2")]
    client_vpc = network.add_vpc("ui")
    alb_vpc = network.add_vpc("checkout", associate=False)
    port = free_port()
    alb = alb_setup(network, backends, "internal", alb_vpc, port)
    lattice = network.lattice
    group = lattice.create_target_group(
        name="checkout-alb-tg", type="ALB", config={"port": port, "protocol": "HTTP", "vpcIdentifier": alb_vpc}
    )["id"]
    lattice.register_targets(targetGroupIdentifier=group, targets=[{"id": alb["lb"]["LoadBalancerArn"], "port": port}])
    service = network.service("checkout", {"forward": {"targetGroups": [{"targetGroupIdentifier": group}]}})
    host = service["dnsEntry"]["domainName"]
    opener = network.opener(client_vpc)
    seen = set()

    def reached() -> bool:
        status, _, echo = get_json(opener, f"http://{host}/orders")
        if status == 200:
            seen.add(echo["backend"])
            assert echo["headers"]["x-amzn-source-vpc"] == client_vpc  # Lattice's headers reach the target
            assert echo["headers"]["x-forwarded-port"] == str(port)  # then the ALB's
        return seen == {"checkout-1", "checkout-2"}

    eventually(reached)
    status, _, body = get_json(opener, f"http://{host}/maintenance")
    assert (status, body) == (503, '{"down":true}')
    # The internal ALB has no socket of its own: its listener port is not bound on 127.0.0.1.
    try:
        request(port, "/orders")
        bound = True
    except OSError:
        bound = False
    assert not bound


def test_an_alb_with_access_logs_writes_elbs_log_lines_to_its_bucket(network: Network, backend: Any) -> None:
    """access_logs.s3.enabled with a bucket and prefix: every request through the ALB becomes one line of ELB's
    access log syntax in the 5-minute object under STATE_DIR/logs/s3/BUCKET/PREFIX/AWSLogs/...; turned off, no
    more lines."""
    vpc = network.add_vpc("web", associate=False)
    port = free_port()
    setup = alb_setup(network, [backend("a")], "internet-facing", vpc, port)
    elbv2, arn = network.server.client("elbv2"), setup["lb"]["LoadBalancerArn"]
    settings = {"access_logs.s3.enabled": "true", "access_logs.s3.bucket": "alb-logs", "access_logs.s3.prefix": "web"}
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[{"Key": k, "Value": v}
                                                                            for k, v in settings.items()])  # fmt: skip
    network.settle()
    answers = [request(port, path, {"user-agent": "probe/1"})[0] for path in ("/cart?x=1", "/maintenance", "/old/a")]
    assert answers == [200, 503, 301]
    root = Path(network.server.state_dir) / "logs" / "s3" / "alb-logs" / "web" / "AWSLogs" / "000000000000"
    eventually(lambda: len(_alb_log_lines(root)) == 3)
    lines = _alb_log_lines(root)
    lb_id = arn.partition(":loadbalancer/")[2]
    forward, fixed, redirect = (dict(zip(_ALB_SYNTAX.split(), line, strict=True)) for line in lines)
    for entry in (forward, fixed, redirect):
        assert (entry["type"], entry["elb"], entry["user_agent"]) == ("http", lb_id, "probe/1")
        assert entry["client:port"].startswith("127.0.0.1:") and entry["ssl_cipher"] == "-"
    assert forward["request"] == f"GET http://127.0.0.1:{port}/cart?x=1 HTTP/1.1"
    assert (forward["elb_status_code"], forward["target_status_code"]) == ("200", "200")
    assert forward["target:port"].startswith("127.0.0.1:") and forward["target_group_arn"] == setup["group"]
    assert forward["matched_rule_priority"] == "0" and forward["actions_executed"] == "forward"
    assert float(forward["request_processing_time"]) >= 0 and float(forward["target_processing_time"]) >= 0
    assert forward["trace_id"].startswith("Root=1-")
    assert (fixed["elb_status_code"], fixed["target_status_code"], fixed["target:port"]) == ("503", "-", "-")
    assert (fixed["matched_rule_priority"], fixed["actions_executed"]) == ("1", "fixed-response")
    assert fixed["request_processing_time"] == fixed["target_processing_time"] == "-1"
    assert (redirect["matched_rule_priority"], redirect["actions_executed"]) == ("2", "redirect")
    assert redirect["redirect_url"] == f"http://127.0.0.1:{port}/new/old/a"
    printed = CliRunner().invoke(app, ["logs", "--alb", setup["lb"]["LoadBalancerName"], "--state-dir",
                                       str(network.server.state_dir)])  # fmt: skip
    assert printed.exit_code == 0 and [shlex.split(line) for line in printed.output.splitlines()] == lines
    name = next(root.rglob("*.log")).name
    assert re.fullmatch(rf"000000000000_elasticloadbalancing_us-west-2_{re.escape(lb_id.replace('/', '.'))}_"
                        r"\d{8}T\d{4}Z_127\.0\.0\.1_[0-9a-f]{8}\.log", name)  # fmt: skip
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[{"Key": "access_logs.s3.enabled",
                                                                            "Value": "false"}])  # fmt: skip
    network.settle()
    request(port, "/cart")
    time.sleep(0.5)  # longer than the sink's flush delay
    assert len(_alb_log_lines(root)) == 3


_ALB_SYNTAX = (  # ELB User Guide, "Access log entries": the fields of a line, in order
    "type time elb client:port target:port request_processing_time target_processing_time response_processing_time "
    "elb_status_code target_status_code received_bytes sent_bytes request user_agent ssl_cipher ssl_protocol "
    "target_group_arn trace_id domain_name chosen_cert_arn matched_rule_priority request_creation_time "
    "actions_executed redirect_url error_reason target:port_list target_status_code_list classification "
    "classification_reason conn_trace_id"
)


def _alb_log_lines(root: Path) -> list[list[str]]:
    return [shlex.split(line) for path in sorted(root.rglob("*.log")) for line in path.read_text().splitlines()]
