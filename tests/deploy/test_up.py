"""`latticework up/down/outputs` against a real server: a small template created, updated by diff and deleted
with traffic through Lattice; rollback on a failing resource; the retail store's journey through Lattice."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def cli(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "latticework", *args, "--state-dir", str(server.state_dir)]
    if args[0] in ("up", "down"):
        command += ["--api-port", str(server.port)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def proxy(server: Any, vpc: str) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "latticework", "vpc", "env", vpc, "--state-dir",
                          str(server.state_dir)], capture_output=True, text=True, check=True).stdout  # fmt: skip
    return dict(re.findall(r"export (\w+)=(\S+)", out))


def test_small_stack_create_update_delete(make_server: Callable[..., Any]) -> None:
    """Lambda behind a Lattice service: answers, follows a parameter change in place, and is gone after down."""
    server = make_server()
    template = str(HERE / "templates" / "small.yaml")
    created = cli(server, "up", template, "--detach")
    assert created.returncode == 0, created.stderr
    outputs = json.loads(cli(server, "outputs", "--json").stdout)["small"]
    env = proxy(server, "demo-vpc")
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
    """storefront -> (Lattice, HTTPS) checkout -> (Lattice, HTTPS) orders: the order is listed by GET /orders."""
    server = make_server("--health-interval-scale", "0.1")
    result = cli(server, "up", "--detach")
    assert result.returncode == 0, result.stdout + result.stderr
    url = re.search(r"Open (http://127\.0\.0\.1:\d+)/", result.stdout)
    assert url, result.stdout
    address = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "address1": "1 Loop Rd"}
    address |= {"address2": "", "city": "Cupertino", "state": "CA", "zip": "95014"}
    with httpx.Client(base_url=url.group(1), follow_redirects=True, trust_env=False, timeout=20) as ui:
        ui.post("/cart", data={"productId": "7"})
        ui.post("/cart", data={"productId": "7"})
        assert 'id="summary-total">$246' in ui.get("/checkout").text
        assert 'id="summary-total">$258' in ui.post("/checkout", data=address).text
        ui.post("/checkout/delivery", data={"token": "priority-mail-express"})
        confirmation = ui.post("/checkout/confirm")
        assert confirmation.status_code == 200, confirmation.text
        order_id = re.search(r'<b id="orderId">([^<]+)</b>', confirmation.text)
    assert order_id
    env = proxy(server, "checkout-vpc")
    ca = str(server.state_dir / "pki" / "ca.pem")
    with httpx.Client(proxy=env["HTTPS_PROXY"], verify=ca, trust_env=False) as client:
        orders = client.get("https://orders.example.com/orders").json()
    assert order_id.group(1) in [o["id"] for o in orders]  # orders keeps SQLite in $TMPDIR/retail-orders
    assert cli(server, "down", "--keep-server").returncode == 0
