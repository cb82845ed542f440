"""The retail store's journey in a real headless Chromium (Debian's chromium + chromedriver, driven by selenium, as
tests/console does) through the storefront URL `latticework up` prints: home, catalog, a product, add to cart,
cart, checkout, address, delivery, payment, confirm. The confirmation page's screenshot is kept under the test's
tmp dir (path printed; `LATTICEWORK_SCREENSHOT=docs/retail-store.png` also writes it there, for the README).
Installs chromium when missing (root and apt-get); skips, saying why, only when that is impossible."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from retail_journey import ADDRESS, SESSION_COOKIE, Purchase, assert_purchase_went_through_lattice, cli, deploy_store

from chromium import chromium

pytestmark = pytest.mark.slow


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium("1280,900") as driver:
        yield driver


def click(driver: Any, selector: str) -> None:
    """Click and wait until the page the click loads is complete (every step of the journey is a link or a form
    post). The old document is marked and the wait is for a complete document without the mark: selenium's
    `staleness_of` asks about the old node while the navigation swaps documents, and chromedriver sometimes
    answers that with an inspector error ("Node with given id does not belong to the document") instead of a
    stale element; a question asked mid-swap is simply asked again."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("document.latticeworkLeft = true")
    driver.find_element(By.CSS_SELECTOR, selector).click()
    WebDriverWait(driver, 30, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return document.readyState === 'complete' && !document.latticeworkLeft")
    )


def text(driver: Any, selector: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, selector).text)


def fill_address(driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for name, value in ADDRESS.items():
        if name == "state":
            Select(driver.find_element(By.ID, "state")).select_by_value(value)
        elif value:
            driver.find_element(By.ID, name).send_keys(value)


def shop_in_browser(driver: Any, url: str) -> Purchase:
    """The seed's journey by clicks; each step checks what the page shows."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    assert "Shop for top products" in text(driver, "section.hero h1")
    click(driver, "#menu-catalog")
    assert len(driver.find_elements(By.CSS_SELECTOR, ".product-link")) > 0
    product = text(driver, ".product-link")
    click(driver, ".product-link")
    click(driver, "#add-to-cart")  # the storefront answers with the cart
    assert text(driver, "#cart-count") == "1" and product in text(driver, "#basket")
    click(driver, "#checkout")
    fill_address(driver)
    click(driver, "#checkoutForm button[type=submit]")
    click(driver, "#deliveryForm button[type=submit]")  # the first rate is checked
    for field, value in (("cc-name", "Ada Lovelace"), ("cc-number", "4111111111111111")):
        driver.find_element(By.ID, field).send_keys(value)
    click(driver, "#paymentForm button[type=submit]")
    click(driver, "#place-order")
    session = driver.get_cookie(SESSION_COOKIE)
    assert session, driver.get_cookies()
    return Purchase(text(driver, "#orderId"), text(driver, "#orderEmail"), session["value"])


def console_errors(driver: Any) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_journey_in_headless_chromium(make_server: Callable[..., Any], browser: Any, tmp_path: Path) -> None:
    """A shopper's clicks place an order through both Lattice hops; the confirmation page is kept as a screenshot."""
    server = make_server("--health-interval-scale", "0.1")
    purchase = shop_in_browser(browser, deploy_store(server))
    shot = tmp_path / "retail-store-confirmation.png"
    assert browser.save_screenshot(str(shot))
    print(f"confirmation page screenshot: {shot}")
    if target := os.environ.get("LATTICEWORK_SCREENSHOT"):
        shutil.copyfile(shot, target)
    assert len(purchase.order_id) == 36 and purchase.email == ADDRESS["email"]  # a UUID, and the address's email
    assert_purchase_went_through_lattice(server, purchase)
    assert console_errors(browser) == []
    assert cli(server, "down", "--keep-server").returncode == 0
