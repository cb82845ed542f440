"""The storefront's pages and the seed's load-scenario journey (home, catalog, product, add to cart, cart,
checkout, address, delivery, payment, confirm), against the checkout API and the orders function in-process."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from orders_store import OrderStore
from retail_kit import CHECKOUT_URL, storefront_asgi
from starlette.applications import Starlette
from starlette.testclient import TestClient
from storefront.app import create_app
from storefront.cart import Cart, add_item, remove_item, set_quantity
from storefront.catalog import PRODUCTS, find_product, page_of
from storefront.checkout_client import CheckoutClient
from storefront.images import product_svg

# The Artillery scenario's address (reference retail-store-2023 4.1).
ADDRESS = {
    "firstName": "John",
    "lastName": "Doe",
    "email": "jdoe789@example.com",
    "address1": "123 Main Street",
    "address2": "",
    "city": "New York",
    "state": "NY",
    "zip": "12345",
}


def count(html: str, css_class: str) -> int:
    return len(re.findall(rf'class="[^"]*\b{re.escape(css_class)}\b[^"]*"', html))


def badge(html: str) -> str:
    match = re.search(r'id="cart-count">(\d+)<', html)
    assert match, "no cart badge on the page"
    return match.group(1)


def test_root_redirects_to_home_and_sets_sessionid(store: TestClient) -> None:
    response = store.get("/", follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == "/home"
    uuid.UUID(response.cookies["SESSIONID"])


def test_home_shows_hero_and_four_hot_products(store: TestClient) -> None:
    html = store.get("/home").text
    assert "<title>Retail Store Sample App</title>" in html
    assert "Shop for top products in our store" in html and "Latest Products, Low Prices" in html
    assert "Hot products!" in html and "Why choose us" in html
    assert re.findall(r'class="product-link" href="/catalog/(\d+)"', html) == ["11", "12", "13", "14"]
    for anchor in ('id="menu-home" class="nav-link" href="/home"', 'href="/catalog"', 'id="go-cart"'):
        assert anchor in html
    assert badge(html) == "0"
    assert 'href="/assets/css/styles.css"' in html and "cdn" not in html.lower()


@pytest.mark.parametrize(
    ("query", "shown", "pages", "first"),
    [
        ("", 3, 7, "11"),
        ("?page=2", 3, 7, "14"),
        ("?size=9", 9, 3, "11"),
        ("?page=3&size=9", 2, 3, "20"),
        ("?page=oops&size=-4", 3, 7, "11"),
        ("?page=8", 0, 7, None),
    ],
)
def test_catalog_pages_and_sizes(store: TestClient, query: str, shown: int, pages: int, first: str | None) -> None:
    html = store.get(f"/catalog{query}").text
    assert count(html, "product-card") == shown
    assert f'Showing <strong id="showing-count">{shown}</strong> of <strong id="total-count">20</strong>' in html
    assert count(html, "page-link") == pages
    ids = re.findall(r'class="product-link" href="/catalog/(\d+)"', html)
    assert (ids[0] if ids else None) == first
    assert count(html, "products-number") == 2 and 'breadcrumb-item active" aria-current="page">Catalog' in html
    assert "Smart" in html


def test_product_page(store: TestClient) -> None:
    html = store.get("/catalog/1").text
    assert "<h1>product1</h1>" in html and '<p class="price">$123</p>' in html
    assert 'id="add-to-cart"' in html and 'id="addToCart"' in html and "product description 1" in html
    assert 'breadcrumb-item active" aria-current="page">product1' in html


def test_unknown_product_is_a_404_page(store: TestClient) -> None:
    response = store.get("/catalog/21")
    assert response.status_code == 404
    assert "Opps! Sorry." in response.text and "Go Home" in response.text


def test_cart_add_twice_update_and_remove(store: TestClient) -> None:
    assert count(store.get("/cart").text, "cart-item") == 0
    html = store.post("/cart", data={"productId": "1"}).text
    assert count(html, "cart-item") == 1 and '<a class="item-name" href="/catalog/1">product1</a>' in html
    assert '<div class="item-price">$ 123</div>' in html and badge(html) == "1"
    html = store.post("/cart", data={"productId": "1"}).text
    assert '<div class="item-price">$ 246</div>' in html and "$ 123 x 2" in html and badge(html) == "2"
    html = store.post("/cart/update", data={"productId": "1", "quantity": "5"}).text
    assert '<div class="item-price">$ 615</div>' in html and badge(html) == "5"
    html = store.post("/cart/remove", data={"productId": "1"}).text  # the only item: 0.4.0 answered 500 here
    assert "You don't have any items in your cart!" in html and badge(html) == "0"


def test_removing_any_item_of_three_keeps_the_others(store: TestClient) -> None:
    for product_id in ("3", "4", "5"):
        store.post("/cart", data={"productId": product_id})
    html = store.post("/cart/remove", data={"productId": "3"}).text
    assert re.findall(r'class="item-name" href="/catalog/(\d+)"', html) == ["4", "5"]


def test_adding_an_unknown_product_is_404(store: TestClient) -> None:
    assert store.post("/cart", data={"productId": "nope"}).status_code == 404


def test_each_sessionid_has_its_own_cart(checkout_app: Starlette) -> None:
    app = storefront_asgi(checkout_app)
    with TestClient(app, follow_redirects=True) as alice, TestClient(app, follow_redirects=True) as bob:
        alice.post("/cart", data={"productId": "1"})
        assert badge(bob.get("/home").text) == "0"
        assert alice.cookies["SESSIONID"] != bob.cookies["SESSIONID"]
        assert badge(alice.get("/home").text) == "1"


def test_a_sessionid_that_is_no_safe_path_segment_is_replaced(store: TestClient) -> None:
    store.cookies.set("SESSIONID", "../../etc")
    response = store.get("/home")
    uuid.UUID(response.cookies["SESSIONID"])


@pytest.mark.parametrize(
    ("steps", "subtotal", "items"),
    [
        ([("add", "1"), ("add", "1"), ("add", "2")], 369, 3),
        ([("add", "1"), ("set", "1", 0)], 0, 0),
        ([("add", "1"), ("set", "1", 500)], 99 * 123, 99),
        ([("add", "1"), ("remove", "9")], 123, 1),
        ([("set", "1", 3)], 0, 0),
    ],
)
def test_cart_arithmetic(steps: list[tuple[Any, ...]], subtotal: int, items: int) -> None:
    cart = Cart()
    for step in steps:
        if step[0] == "add":
            product = find_product(step[1])
            assert product is not None
            cart = add_item(cart, product)
        elif step[0] == "set":
            cart = set_quantity(cart, step[1], step[2])
        else:
            cart = remove_item(cart, step[1])
    assert (cart.subtotal, cart.num_items) == (subtotal, items)


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(store: TestClient) -> None:
    response = store.get("/checkout", follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == "/cart"


def test_the_seed_journey_places_a_persisted_order(store: TestClient, order_store: OrderStore) -> None:
    for path in ("/home", "/catalog", *(f"/catalog/{product.id}" for product in PRODUCTS)):
        assert store.get(path).status_code == 200
    assert store.post("/cart", data={"productId": "11"}).status_code == 200
    step1 = store.get("/checkout").text
    assert 'id="checkoutForm"' in step1 and 'id="summary-subtotal">$123' in step1
    assert 'id="summary-tax"' not in step1 and 'id="summary-total">$123' in step1
    step2 = store.post("/checkout", data=ADDRESS).text
    assert 'id="summary-tax">$6' in step2 and 'id="summary-total">$129' in step2
    assert "Priority Mail Express" in step2 and "Estimated 5 days" in step2 and count(step2, "item-selector") == 2
    step3 = store.post("/checkout/delivery", data={"token": "priority-mail"}).text
    assert 'id="summary-shipping">$5' in step3 and 'id="summary-total">$129' in step3 and 'id="cc-number"' in step3
    step4 = store.post("/checkout/payment", data={"ccName": "John Doe", "ccNumber": "1234567890"}).text
    assert "1 x $123" in step4 and 'id="place-order"' in step4
    confirmation = store.post("/checkout/confirm").text
    assert "Thank you for order" in confirmation and badge(confirmation) == "0"
    order_id = re.search(r'<b id="orderId">([^<]+)</b>', confirmation)
    assert order_id and '<b id="orderEmail">jdoe789@example.com</b>' in confirmation
    [order] = order_store.list_orders()
    assert order.id == order_id.group(1) and order.email == "jdoe789@example.com"
    assert count(store.get("/cart").text, "cart-item") == 0


def test_checkout_record_is_gone_after_submit(checkout_app: Starlette) -> None:
    """After confirm, GET /checkout/{SESSIONID} on the checkout API is 404 (deleted on submit)."""
    from retail_kit import storefront_asgi

    with TestClient(storefront_asgi(checkout_app), base_url="https://ui.example.com", follow_redirects=True) as ui:
        ui.post("/cart", data={"productId": "2"})
        ui.get("/checkout")
        ui.post("/checkout", data=ADDRESS)
        session = ui.cookies["SESSIONID"]
        with TestClient(checkout_app, base_url=CHECKOUT_URL) as api:
            assert api.get(f"/checkout/{session}").json()["request"]["customerEmail"] == ADDRESS["email"]
            ui.post("/checkout/delivery", data={"token": "priority-mail-express"})
            ui.post("/checkout/confirm")
            assert api.get(f"/checkout/{session}").status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "not-an-email"), ("zip", "1234"), ("state", "ny"), ("firstName", " "), ("city", "")],
)
def test_invalid_address_reshows_step_one_with_the_field_marked(store: TestClient, field: str, value: str) -> None:
    store.post("/cart", data={"productId": "1"})
    html = store.post("/checkout", data={**ADDRESS, field: value}).text
    assert 'id="checkoutForm"' in html
    assert re.search(rf'class="form-control is-invalid" (type="\w+" )?id="{field}"', html)
    assert html.count("is-invalid") == 1


@pytest.mark.parametrize("token", ["", "no spaces", "drop;table"])
def test_missing_delivery_choice_reshows_step_two(store: TestClient, token: str) -> None:
    store.post("/cart", data={"productId": "1"})
    store.get("/checkout")
    store.post("/checkout", data=ADDRESS)
    html = store.post("/checkout/delivery", data={"token": token}).text
    assert "Please select a delivery method." in html and count(html, "item-selector") == 2


def test_checkout_api_down_shows_500_and_keeps_the_cart() -> None:
    down = httpx.MockTransport(lambda request: httpx.Response(503, text="unavailable"))
    app = create_app(CheckoutClient(httpx.AsyncClient(base_url=CHECKOUT_URL, transport=down)))
    with TestClient(app, base_url="https://ui.example.com", follow_redirects=True) as ui:
        ui.post("/cart", data={"productId": "1"})
        response = ui.get("/checkout")
        assert response.status_code == 500 and "checkout service could not be reached" in response.text
        assert count(ui.get("/cart").text, "cart-item") == 1


def test_submit_failure_keeps_the_cart(store: TestClient, order_store: OrderStore) -> None:
    """Unlike 0.4.0, a failed submit does not empty the cart. Here orders refuses it: skipping the address
    step leaves the checkout without an email."""
    store.post("/cart", data={"productId": "1"})
    store.get("/checkout")
    response = store.post("/checkout/confirm")
    assert response.status_code == 500 and "Opps! Sorry." in response.text
    assert badge(response.text) == "1"
    assert order_store.list_orders() == []


def test_health_and_assets(store: TestClient) -> None:
    assert store.get("/actuator/health").json() == {"status": "UP"}
    css = store.get("/assets/css/styles.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css") and ".navbar" in css.text
    image = store.get("/assets/img/product7.svg")
    assert image.headers["content-type"].startswith("image/svg+xml") and "<title>product7</title>" in image.text
    assert store.get("/assets/img/product21.svg").status_code == 404


def test_every_product_has_its_own_picture() -> None:
    pictures = {product_svg(int(product.id)) for product in PRODUCTS}
    assert len(pictures) == 20
    assert all(picture.startswith("<svg") and picture.endswith("</svg>") for picture in pictures)


def test_catalog_slices_follow_the_seed_order() -> None:
    assert [p.id for p in page_of(1, 4).products] == ["11", "12", "13", "14"]
    assert [p.id for p in page_of(7, 3).products] == ["20", "10"]
    assert page_of(1, 3).total_pages == 7 and page_of(1, 9).total_pages == 3
