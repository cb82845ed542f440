"""What the retail-store journey tests share: `latticework up` of the bundled template against a test server, the
seed's load-scenario journey over HTTP, and the checks after a purchase (the order listed by GET /orders through
Lattice, the checkout record gone, both Lattice hops in the access logs). Test support only; no assertions about
timing."""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

ADDRESS = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "address1": "1 Loop Rd",
           "address2": "", "city": "Cupertino", "state": "CA", "zip": "95014"}  # fmt: skip
SESSION_COOKIE = "SESSIONID"  # the storefront's session, and the checkout API's customer id


@dataclass(frozen=True, slots=True)
class Purchase:
    """What the confirmation page showed, and whose checkout it was."""

    order_id: str
    email: str
    session_id: str


def cli(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "latticework", *args, "--state-dir", str(server.state_dir)]
    if args[0] in ("up", "down"):
        command += ["--api-port", str(server.port)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def vpc_env(server: Any, vpc: str) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "latticework", "vpc", "env", vpc, "--state-dir",
                          str(server.state_dir)], capture_output=True, text=True, check=True).stdout  # fmt: skip
    return dict(re.findall(r"export (\w+)=(\S+)", out))


def deploy_store(server: Any, *parameters: str) -> str:
    """`latticework up --detach` of the retail store; returns the storefront URL it says to open."""
    given = [arg for value in parameters for arg in ("--parameter", value)]
    result = cli(server, "up", "--detach", *given)
    assert result.returncode == 0, result.stdout + result.stderr
    url = re.search(r"Open (http://127\.0\.0\.1:\d+)/", result.stdout)
    assert url, result.stdout
    return url.group(1)


def shop_over_http(
    server: Any, url: str, before_submit: Callable[[str], None] | None = None, host: str | None = None
) -> Purchase:
    """Home, catalog, a product, add to cart (twice), cart, checkout, address, delivery, payment, confirm; the
    checkout record exists right before the order is placed (`before_submit(session_id)` may look further).
    With `host`, every request carries that Host header (the internet-facing ALB's name; its certificate is
    the local CA's and is not verified here)."""
    headers = {"host": host} if host else {}
    with httpx.Client(
        base_url=url, follow_redirects=True, trust_env=False, timeout=20, headers=headers, verify=not host
    ) as ui:
        assert "Shop for top products" in ui.get("/").text
        assert ui.get("/catalog", params={"page": 2, "size": 9}).text.count('class="product-link"') == 9
        assert 'id="add-to-cart"' in ui.get("/catalog/7").text
        ui.post("/cart", data={"productId": "7"})
        assert 'id="cart-subtotal">$246' in ui.post("/cart", data={"productId": "7"}).text
        assert 'id="summary-total">$246' in ui.get("/checkout").text
        assert 'id="summary-total">$258' in ui.post("/checkout", data=ADDRESS).text
        ui.post("/checkout/delivery", data={"token": "priority-mail-express"})
        ui.post("/checkout/payment", data={"ccName": "Ada Lovelace", "ccNumber": "4111111111111111"})
        session_id = ui.cookies[SESSION_COOKIE]
        assert checkout_record_status(server, session_id) == 200
        if before_submit:
            before_submit(session_id)
        confirmation = ui.post("/checkout/confirm")
    assert confirmation.status_code == 200, confirmation.text
    order_id = re.search(r'<b id="orderId">([^<]+)</b>', confirmation.text)
    email = re.search(r'<b id="orderEmail">([^<]+)</b>', confirmation.text)
    assert order_id and email, confirmation.text
    return Purchase(order_id.group(1), email.group(1), session_id)


def through_lattice(server: Any, vpc: str) -> httpx.Client:
    """A client living in `vpc`: Lattice's ingress as its HTTPS proxy, trusting the local CA."""
    env = vpc_env(server, vpc)
    ca = ssl.create_default_context(cafile=str(server.state_dir / "pki" / "ca.pem"))
    return httpx.Client(proxy=env["HTTPS_PROXY"], verify=ca, trust_env=False, timeout=20)


def checkout_record_status(server: Any, session_id: str) -> int:
    """GET https://checkout.example.com/checkout/{customer id} from ui-vpc: 200 while the checkout exists, 404
    once submit deleted it (0.4.0's CheckoutService.submit removes the record)."""
    with through_lattice(server, "ui-vpc") as client:
        return client.get(f"https://checkout.example.com/checkout/{session_id}").status_code


def listed_order_ids(server: Any) -> list[str]:
    """GET https://orders.example.com/orders from checkout-vpc, through Lattice (V1 event to the function)."""
    with through_lattice(server, "checkout-vpc") as client:
        return [order["id"] for order in client.get("https://orders.example.com/orders").json()]


def vpc_ids(server: Any) -> dict[str, str]:
    """VPC name (its Name tag) -> VPC ID."""
    vpcs = server.client("ec2").describe_vpcs()["Vpcs"]
    return {tag["Value"]: vpc["VpcId"] for vpc in vpcs for tag in vpc.get("Tags", []) if tag["Key"] == "Name"}


def access_log_records(server: Any) -> list[dict[str, Any]]:
    """Every record `latticework logs` prints for the state dir (all destinations, each record once)."""
    out = cli(server, "logs").stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def lattice_hops(records: list[dict[str, Any]], vpcs: dict[str, str], purchase: Purchase) -> set[str]:
    """Which of the purchase's two Lattice hops the records show, each from its own VPC with the status the app
    answered: storefront (ui-vpc) -> checkout-svc submit 201; checkout (checkout-vpc) -> orders-svc POST 200."""
    hops = {
        "storefront -> checkout-svc": ("checkout.example.com", "POST", f"/checkout/{purchase.session_id}/submit",
                                       vpcs["ui-vpc"], 201),
        "checkout -> orders-svc": ("orders.example.com", "POST", "/orders", vpcs["checkout-vpc"], 200),
    }  # fmt: skip
    seen = {(r["hostHeader"].split(":")[0], r["requestMethod"], r["requestPath"], r["sourceVpcId"], r["responseCode"])
            for r in records}  # fmt: skip
    return {name for name, hop in hops.items() if hop in seen}


def assert_purchase_went_through_lattice(server: Any, purchase: Purchase) -> None:
    """The acceptance checks after a purchase: order listed, checkout record gone, both hops logged."""
    assert purchase.email == ADDRESS["email"]
    assert purchase.order_id in listed_order_ids(server)
    assert checkout_record_status(server, purchase.session_id) == 404
    vpcs = vpc_ids(server)
    want = {"storefront -> checkout-svc", "checkout -> orders-svc"}
    deadline = time.monotonic() + 10  # records are appended within ~100 ms (docs/access-logs.md)
    while (seen := lattice_hops(access_log_records(server), vpcs, purchase)) != want and time.monotonic() < deadline:
        time.sleep(0.2)
    assert seen == want, f"the access logs show only {sorted(seen)}"
