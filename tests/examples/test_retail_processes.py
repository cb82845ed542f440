"""The three apps as real processes on 127.0.0.1, each started the way the README says (PORT and env vars):
storefront -> checkout API -> orders (serve.py's V1 adapter). The storefront reaches checkout through
HTTP_PROXY, as it reaches Lattice in the demo: its ENDPOINTS_CHECKOUT host does not resolve at all."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from retail_kit import RETAIL

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and k != "DATABASE_URL"}
    base.pop("REDIS_URL", None)
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, *args], cwd=RETAIL, env={**base, **env}, stdout=out, stderr=out)


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: exited {process.returncode}\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} not ready in 30 s\n{log.read_text()}")


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[dict[str, str]]:
    ports = {name: free_port() for name in ("orders", "checkout", "storefront")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    log = tmp_path / "apps.log"
    specs = [
        ("orders", ["orders/serve.py"], {"DATA_DIR": str(tmp_path / "orders")}, "/orders"),
        ("checkout", ["-m", "checkout"], {"DATA_DIR": str(tmp_path), "ENDPOINTS_ORDERS": urls["orders"]}, "/health"),
        (
            "storefront",
            ["-m", "storefront"],
            {"ENDPOINTS_CHECKOUT": "http://checkout.invalid", "HTTP_PROXY": urls["checkout"], "NO_PROXY": ""},
            "/actuator/health",
        ),
    ]
    processes = []
    try:
        for name, args, env, ready in specs:
            processes.append(start(args, {**env, "PORT": str(ports[name])}, log))
            wait_ready(urls[name] + ready, processes[-1], log)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def test_journey_across_three_processes(apps: dict[str, str]) -> None:
    address = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "address1": "1 Loop Rd"}
    address |= {"address2": "", "city": "Cupertino", "state": "CA", "zip": "95014"}
    with httpx.Client(base_url=apps["storefront"], follow_redirects=True, trust_env=False, timeout=10) as ui:
        assert ui.get("/home").status_code == 200
        ui.post("/cart", data={"productId": "7"})
        ui.post("/cart", data={"productId": "7"})
        assert 'id="summary-total">$246' in ui.get("/checkout").text
        assert 'id="summary-total">$258' in ui.post("/checkout", data=address).text  # tax floor(12.3) = 12
        ui.post("/checkout/delivery", data={"token": "priority-mail-express"})
        confirmation = ui.post("/checkout/confirm")
        assert confirmation.status_code == 200, confirmation.text
        order_id = re.search(r'<b id="orderId">([^<]+)</b>', confirmation.text)
        assert order_id
        session = ui.cookies["SESSIONID"]
    assert httpx.get(f"{apps['checkout']}/checkout/{session}", trust_env=False).status_code == 404
    [order] = httpx.get(f"{apps['orders']}/orders", trust_env=False).json()
    assert order["id"] == order_id.group(1)
    assert (order["firstName"], order["lastName"], order["email"]) == ("Ada", "Lovelace", "ada@example.com")
    assert order["items"] == [{"productId": "7", "name": "product7", "quantity": 2, "price": 123, "totalCost": 246}]
