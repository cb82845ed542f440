"""The console's pages on a real server: they render, name the resources the API created, and its actions change
them through the API (checked with boto3)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from topology import Network, forward

PAGES = ("/console", "/console/services", "/console/target-groups", "/console/auth", "/console/compute",
         "/console/requests")  # fmt: skip


def fetch(url: str, data: dict[str, str] | None = None, **headers: str) -> tuple[int, str, dict[str, str]]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers)
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode(), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), {k.lower(): v for k, v in error.headers.items()}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


@pytest.fixture
def shop(network: Network, backend: Any) -> dict[str, Any]:
    vpc = network.add_vpc("console-client")
    blue, green = network.target_group("blue", backend("blue")), network.target_group("green", backend("green"))
    service = network.service("checkout", forward((blue, 80), (green, 20)))
    network.lattice.put_auth_policy(
        resourceIdentifier=service["id"],
        policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "vpc-lattice-svcs:Invoke", "Resource": "*"}]}),
    )  # fmt: skip
    network.settle()
    return {"vpc": vpc, "blue": blue, "green": green, "service": service}


def test_every_page_renders_the_resources(network: Network, shop: dict[str, Any]) -> None:
    """Each page answers 200 HTML; together they name the network, VPC, service, DNS name and target groups."""
    bodies = {}
    for page in PAGES:
        status, body, headers = fetch(network.server.url + page)
        assert status == 200, page
        assert headers["content-type"].startswith("text/html")
        bodies[page] = body
    assert "store-net" in bodies["/console"] and shop["vpc"] in bodies["/console"]
    assert '<g class="node service"' in bodies["/console"]
    assert shop["service"]["dnsEntry"]["domainName"] in bodies["/console/services"]
    assert 'value="80"' in bodies["/console/services"] and 'value="20"' in bodies["/console/services"]
    assert "blue" in bodies["/console/target-groups"] and "127.0.0.1" in bodies["/console/target-groups"]
    assert "vpc-lattice-svcs:Invoke" in bodies["/console/auth"]


def test_topology_svg_draws_each_layer(network: Network, shop: dict[str, Any]) -> None:
    """VPC -> network -> service -> both target groups -> their targets, with an edge for each hop."""
    status, svg, headers = fetch(network.server.url + "/console/topology.svg")
    assert status == 200 and headers["content-type"] == "image/svg+xml"
    for kind, count in (("vpc", 1), ("network", 1), ("service", 1), ("target-group", 2), ("target", 2)):
        assert svg.count(f'<g class="node {kind}"') == count, kind
    assert svg.count('<line class="edge"') == 1 + 1 + 2 + 2


def test_weight_action_updates_the_listener(network: Network, shop: dict[str, Any]) -> None:
    """Posting the weights form changes the default action through the API, as boto3 then reads it."""
    lattice, service = network.lattice, shop["service"]
    listener = lattice.list_listeners(serviceIdentifier=service["id"])["items"][0]["id"]
    rule = lattice.list_rules(serviceIdentifier=service["id"], listenerIdentifier=listener)["items"][-1]["id"]
    form = {"service": service["id"], "listener": listener, "rule": rule, f"weight:{shop['blue']}": "10",
            f"weight:{shop['green']}": "90", "back": "/console/services"}  # fmt: skip
    status, body, _ = fetch(network.server.url + "/console/actions/weights", form, accept="application/json")
    assert status == 200, body
    action = lattice.get_listener(serviceIdentifier=service["id"], listenerIdentifier=listener)["defaultAction"]
    assert {g["targetGroupIdentifier"]: g["weight"] for g in action["forward"]["targetGroups"]} == {
        shop["blue"]: 10,
        shop["green"]: 90,
    }


def test_target_and_auth_actions_go_through_the_api(network: Network, shop: dict[str, Any]) -> None:
    """Register, deregister and the auth-type switch each show in boto3's answers; a plain form post redirects."""
    url, lattice = network.server.url, network.lattice
    status, _, headers = fetch(f"{url}/console/actions/register", {"target_group": shop["blue"],
                               "target": "127.0.0.9", "port": "8080", "back": "/console/target-groups"})  # fmt: skip
    assert status == 303 and headers["location"].startswith("/console/target-groups?message=")
    ids = {t["id"] for t in lattice.list_targets(targetGroupIdentifier=shop["blue"])["items"]}
    assert "127.0.0.9" in ids
    fetch(f"{url}/console/actions/deregister", {"target_group": shop["blue"], "target": "127.0.0.9", "port": "8080"})
    statuses = {t["id"]: t["status"] for t in lattice.list_targets(targetGroupIdentifier=shop["blue"])["items"]}
    assert statuses.get("127.0.0.9") in (None, "DRAINING")
    fetch(f"{url}/console/actions/auth-type", {"service": shop["service"]["id"], "auth_type": "AWS_IAM"})
    assert lattice.get_service(serviceIdentifier=shop["service"]["id"])["authType"] == "AWS_IAM"


@pytest.mark.parametrize(
    ("action", "form", "status", "needle"),
    [
        ("auth-type", {"service": "svc-x", "auth_type": "OPEN"}, 400, "NONE or AWS_IAM"),
        ("weights", {"service": "s", "listener": "l", "rule": "r", "weight:tg-1": "1000"}, 400, "0 to 999"),
        ("register", {"target_group": "tg-0123456789abcdef0"}, 400, "'target' is required"),
        ("teleport", {}, 400, "No console action"),
    ],
)
def test_bad_actions_say_what_to_fix(network: Network, action: str, form: dict[str, str], status: int,
                                     needle: str) -> None:  # fmt: skip
    got, body, _ = fetch(f"{network.server.url}/console/actions/{action}", form, accept="application/json")
    assert got == status and needle in body


def test_actions_from_another_origin_are_refused(network: Network) -> None:
    """A page on another site cannot post to the console (Origin checked against Host)."""
    status, body, _ = fetch(f"{network.server.url}/console/actions/auth-type", {"service": "x", "auth_type": "NONE"},
                            origin="http://evil.example")  # fmt: skip
    assert status == 403 and "Origin" in body


def test_requests_api_filters_the_access_logs(network: Network, shop: dict[str, Any]) -> None:
    """The live tail's JSON: records from the access logs, filtered by status class."""
    network.lattice.create_access_log_subscription(
        resourceIdentifier=shop["service"]["id"], destinationArn="arn:aws:s3:::console-tail"
    )
    network.settle()
    opener = network.opener(shop["vpc"])
    host = shop["service"]["dnsEntry"]["domainName"]
    for path in ("/a", "/b"):
        with opener.open(f"http://{host}{path}", timeout=10) as response:
            assert response.status == 200
    import time

    deadline, records = time.monotonic() + 10, []
    while len(records) < 2 and time.monotonic() < deadline:
        records = json.loads(fetch(f"{network.server.url}/console/api/requests?status=2XX")[1])["records"]
        time.sleep(0.05)
    assert sorted(r["requestPath"] for r in records) == ["/a", "/b"]
    none = json.loads(fetch(f"{network.server.url}/console/api/requests?status=5")[1])["records"]
    assert none == []
