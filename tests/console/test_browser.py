"""The console in a real headless Chromium (Debian's chromium + chromedriver, driven by selenium): every page loads
without console errors, the topology draws each layer, and moving a weight slider changes the split of live
traffic, measured through the VPC's ingress. Installs chromium when missing (root and apt-get); skips, saying
why, only when that is impossible."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from topology import Network, eventually, forward, get_json

from chromium import chromium

pytestmark = pytest.mark.slow

PAGES = ("/console", "/console/services", "/console/target-groups", "/console/auth", "/console/compute",
         "/console/requests")  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium("1400,1000") as driver:
        yield driver


@pytest.fixture
def shop(network: Network, backend: Any) -> dict[str, Any]:
    vpc = network.add_vpc("browser-client")
    blue, green = network.target_group("bblue", backend("blue")), network.target_group("bgreen", backend("green"))
    service = network.service("storefront", forward((blue, 50), (green, 50)))
    return {"vpc": vpc, "blue": blue, "green": green, "service": service}


def console_errors(driver: Any) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def split(network: Network, shop: dict[str, Any], requests: int = 40) -> Counter[str]:
    """Which backend answered each of `requests` requests through the VPC's ingress."""
    opener = network.opener(shop["vpc"])
    url = f"http://{shop['service']['dnsEntry']['domainName']}/split"
    return Counter(get_json(opener, url)[2]["backend"] for _ in range(requests))


def test_pages_load_without_console_errors_and_draw_the_topology(
    browser: Any, network: Network, shop: dict[str, Any]
) -> None:
    """Every page, a second after load (the live tail has polled): no SEVERE console entries."""
    from selenium.webdriver.common.by import By

    for page in PAGES:
        browser.get(network.server.url + page)
        assert browser.find_element(By.TAG_NAME, "h1").text
        if page == "/console/requests":
            eventually(lambda: browser.execute_script("return document.readyState") == "complete")
            browser.execute_script("return fetch('/console/api/requests').then(r => r.status)")
        assert console_errors(browser) == [], page
    browser.get(network.server.url + "/console")
    drawn = {kind: browser.find_elements(By.CSS_SELECTOR, f"svg.topology g.node.{kind}")
             for kind in ("vpc", "network", "service", "target-group", "target")}  # fmt: skip
    assert {kind: len(nodes) for kind, nodes in drawn.items()} == {
        "vpc": 1, "network": 1, "service": 1, "target-group": 2, "target": 2,
    }  # fmt: skip
    assert drawn["service"][0].get_attribute("data-id") == shop["service"]["id"]
    assert drawn["vpc"][0].get_attribute("data-id") == shop["vpc"]
    assert all(node.is_displayed() for nodes in drawn.values() for node in nodes)


def test_moving_a_weight_slider_changes_the_live_split(browser: Any, network: Network, shop: dict[str, Any]) -> None:
    """50/50 serves both backends; the blue slider moved to its minimum (green follows to 100) serves only green."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    before = split(network, shop)
    assert before["blue"] > 0 and before["green"] > 0
    browser.get(network.server.url + "/console/services")
    slider = browser.find_element(By.CSS_SELECTOR, f'input.weight[data-group="{shop["blue"]}"]')
    slider.send_keys(Keys.HOME)  # the keyboard moves a range input as a drag does: input, then change
    outcome = browser.find_element(By.ID, "outcome")
    eventually(lambda: "Weights saved" in outcome.text)
    other = browser.find_element(By.CSS_SELECTOR, f'input.weight[data-group="{shop["green"]}"]')
    assert (slider.get_attribute("value"), other.get_attribute("value")) == ("0", "100")
    network.settle()
    after = split(network, shop)
    assert after == Counter({"green": 40})
    assert console_errors(browser) == []
