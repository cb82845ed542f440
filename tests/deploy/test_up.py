"""`latticework up/down/outputs` against a real server: a small template created, updated by diff and deleted
with traffic through Lattice; rollback on a failing resource; the retail store's journey through Lattice."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from retail_journey import assert_purchase_went_through_lattice, cli, deploy_store, shop_over_http, vpc_env

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_small_stack_create_update_delete(make_server: Callable[..., Any]) -> None:
    """Lambda behind a Lattice service: answers, follows a parameter change in place, and is gone after down."""
    server = make_server()
    template = str(HERE / "templates" / "small.yaml")
    created = cli(server, "up", template, "--detach")
    assert created.returncode == 0, created.stderr
    outputs = json.loads(cli(server, "outputs", "--json").stdout)["small"]
    env = vpc_env(server, "demo-vpc")
    with httpx.Client(proxy=env["HTTP_PROXY"], trust_env=False) as client:
        assert client.get(outputs["Url"]).text == "hello"
        updated = cli(server, "up", template, "--detach", "--parameter", "Greeting=bonjour")
        assert "UPDATE_COMPLETE      Fn" in updated.stdout and "CREATE_" not in updated.stdout
        assert client.get(outputs["Url"]).text == "bonjour"
    assert json.loads(cli(server, "outputs", "--json").stdout)["small"]["Lang"] == "fr"
    again = cli(server, "up", template, "--detach", "--parameter", "Greeting=bonjour")
    assert "_COMPLETE" not in again.stdout.split("ready in")[0]  # nothing changed, nothing touched
    assert cli(server, "down", "--keep-server").returncode == 0
    lattice = server.client()
    assert [s for s in lattice.list_services()["items"] if s["name"] == "demo-svc"] == []
    assert json.loads(cli(server, "outputs", "--json").stdout) == {}


def test_failing_resource_rolls_back(make_server: Callable[..., Any], tmp_path: Path) -> None:
    """A listener on a missing target group fails; what was created before it is deleted again."""
    server = make_server()
    text = (HERE / "templates" / "small.yaml").read_text()
    text = text.replace("TargetGroupIdentifier: !Ref Group", "TargetGroupIdentifier: tg-0000000000000000f")
    template = tmp_path / "broken.yaml"
    template.write_text(text)
    result = cli(server, "up", str(template), "--detach")
    assert result.returncode == 1
    assert "Listener (AWS::VpcLattice::Listener): create failed: ResourceNotFoundException" in result.stderr
    assert "rolled back" in result.stdout
    lattice = server.client()
    assert lattice.list_service_networks()["items"] == [] and lattice.list_services()["items"] == []
    assert server.client("lambda").list_functions()["Functions"] == []


@pytest.mark.slow
def test_retail_store_journey_through_lattice(make_server: Callable[..., Any]) -> None:
    """storefront -> (Lattice, HTTPS) checkout -> (Lattice, HTTPS) orders: the order is listed by GET /orders, the
    checkout record is gone, both hops are in the access logs, and the data stayed in the state dir."""
    server = make_server("--health-interval-scale", "0.1")
    purchase = shop_over_http(server, deploy_store(server))
    assert_purchase_went_through_lattice(server, purchase)
    data = server.state_dir / "retail-store"  # DATA_DIR: ${Latticework::StateDir}/retail-store
    assert (data / "checkout.db").is_file() and (data / "orders.db").is_file()
    assert cli(server, "down", "--keep-server").returncode == 0


@pytest.mark.slow
def test_retail_store_journey_with_the_seeds_albs(make_server: Callable[..., Any]) -> None:
    """FrontDoor=ALB, the seed's shape: checkout-svc's target group is type ALB -> internal checkout-alb -> the
    checkout task, and the ui is behind the internet-facing ui-alb (HTTPS 443, bound on 127.0.0.1:8443)."""
    server = make_server("--health-interval-scale", "0.1")
    deploy_store(server, "FrontDoor=ALB")
    # The whole journey through the internet-facing ui-alb, as the seed's users reach it (https://ui.<domain>).
    purchase = shop_over_http(server, "https://127.0.0.1:8443", host="ui.example.com")
    assert_purchase_went_through_lattice(server, purchase)
    assert cli(server, "down", "--keep-server").returncode == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_foreground_up_tears_down_on_ctrl_c_or_sigterm(tmp_path: Path, signum: int) -> None:
    """`up` without --detach starts its own server, stays up, and on SIGINT/SIGTERM deletes the stack and stops
    that server (a server left behind would keep the port and the tasks)."""
    port, state = free_port(), tmp_path / "state"
    command = [sys.executable, "-m", "latticework", "up", str(HERE / "templates" / "small.yaml"), "--state-dir",
               str(state), "--api-port", str(port)]  # fmt: skip
    up = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    assert up.stdout is not None
    lines = []
    for line in up.stdout:
        lines.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    assert lines and lines[-1].startswith("Press Ctrl-C"), "".join(lines)
    up.send_signal(signum)
    rest = up.communicate(timeout=120)[0]
    assert "DELETE_COMPLETE" in rest, (up.returncode, rest)
    assert "server stopped" in rest
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/_latticework/health", timeout=2)
