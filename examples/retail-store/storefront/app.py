"""The storefront (0.4.0's Spring UI, rewritten): pages over the in-process catalog and carts, and the four
checkout steps through the checkout API.

    /  /home  /catalog?tag=&page=1&size=3  /catalog/{id}  /cart (GET, POST)  /cart/update  /cart/remove
    /checkout (GET: step 1; POST: address -> step 2)  /checkout/delivery (-> 3)  /checkout/payment (-> 4 review)
    /checkout/confirm (-> order)  /assets/...  /actuator/health (the ui-alb health check)

Owns: routes, the SESSIONID cookie (0.4.0's SessionIDWebFilter: a UUID when absent), and which template shows
what. Must never compute checkout prices: tax, shipping and total come from the checkout API.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from storefront.cart import CartStore, MemoryCartStore, add_item, remove_item, set_quantity
from storefront.catalog import TAGS, find_product, page_of
from storefront.checkout_client import CheckoutClient, CheckoutUnavailable, CheckoutView, trusting_client
from storefront.forms import US_STATES, AddressForm, valid_delivery_token
from storefront.images import product_svg

__all__ = ["app_from_environment", "create_app"]

log = logging.getLogger("storefront")
HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "SESSIONID"
# The session id becomes a path segment of the checkout API (/checkout/{id}); anything else gets a fresh one.
_SESSION_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_IMAGE = re.compile(r"^product([1-9]|1[0-9]|20)\.svg$")
DEFAULT_PAGE_SIZE = 3
PAGE_SIZES = (3, 9)


async def session_cookie(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Read SESSIONID or mint a UUID and set it on the response, as 0.4.0's SessionIDWebFilter did."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    fresh = not _SESSION_ID.match(session_id)
    request.state.session_id = str(uuid.uuid4()) if fresh else session_id
    response = await call_next(request)
    if fresh:
        response.set_cookie(SESSION_COOKIE, request.state.session_id, path="/", httponly=True, samesite="lax")
    return response


def _whole_number(raw: str | None, default: int, upper: int) -> int:
    """A query parameter as 1..upper; anything else falls back to the default."""
    try:
        value = int(raw or default)
    except ValueError:
        return default
    return value if 1 <= value <= upper else default


class Pages:
    """The handlers, sharing the catalog, the carts, the checkout client and the templates."""

    def __init__(self, checkout: CheckoutClient, carts: CartStore, banner: str) -> None:
        self.checkout, self.carts, self.banner = checkout, carts, banner
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        cart = self.carts.get(request.state.session_id)
        page = {"banner": self.banner, "cart": cart, "num_items": cart.num_items, **context}
        return self.templates.TemplateResponse(request, template, page, status_code=status)

    async def home(self, request: Request) -> Response:
        return self.render(request, "home.html", products=page_of(1, 4).products)

    async def catalog(self, request: Request) -> Response:
        size = _whole_number(request.query_params.get("size"), DEFAULT_PAGE_SIZE, 100)
        page = page_of(_whole_number(request.query_params.get("page"), 1, 10_000), size)
        return self.render(request, "catalog.html", page=page, tags=TAGS, sizes=PAGE_SIZES)

    async def product(self, request: Request) -> Response:
        product = find_product(request.path_params["product_id"])
        if product is None:
            raise HTTPException(404, f"No product {request.path_params['product_id']!r}")
        return self.render(request, "detail.html", product=product)

    async def image(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not (match := _IMAGE.match(name)):
            raise HTTPException(404, f"No image {name!r}")
        headers = {"Cache-Control": "public, max-age=86400"}
        return Response(product_svg(int(match.group(1))), media_type="image/svg+xml", headers=headers)

    async def view_cart(self, request: Request) -> Response:
        return self.render(request, "cart.html")

    async def add_to_cart(self, request: Request) -> Response:
        form = await request.form()
        product = find_product(str(form.get("productId", "")))
        if product is None:
            raise HTTPException(404, f"No product {form.get('productId')!r} to add")
        session_id = request.state.session_id
        self.carts.put(session_id, add_item(self.carts.get(session_id), product))
        return RedirectResponse("/cart", status_code=302)

    async def update_cart(self, request: Request) -> Response:
        form = await request.form()
        try:
            quantity = int(str(form.get("quantity", "")))
        except ValueError:
            raise HTTPException(400, "The quantity must be a whole number (0 removes the item).") from None
        session_id = request.state.session_id
        self.carts.put(session_id, set_quantity(self.carts.get(session_id), str(form.get("productId", "")), quantity))
        return RedirectResponse("/cart", status_code=302)

    async def remove_from_cart(self, request: Request) -> Response:
        form = await request.form()
        session_id = request.state.session_id
        self.carts.put(session_id, remove_item(self.carts.get(session_id), str(form.get("productId", ""))))
        return RedirectResponse("/cart", status_code=302)

    async def start_checkout(self, request: Request) -> Response:
        cart = self.carts.get(request.state.session_id)
        if not cart.items:
            return RedirectResponse("/cart", status_code=302)
        view = await self.checkout.create(request.state.session_id, cart)
        return self.render(
            request,
            "checkout-shipping.html",
            step=1,
            checkout=view,
            form=AddressForm.read({}),
            checked=False,
            states=US_STATES,
        )

    def address_step(self, request: Request, view: CheckoutView, form: AddressForm, *, checked: bool) -> Response:
        """Step 1; `checked` shows the fields' errors (not on the first visit)."""
        context: dict[str, Any] = {"checkout": view, "form": form, "checked": checked, "states": US_STATES}
        return self.render(request, "checkout-shipping.html", step=1, **context)

    async def shipping(self, request: Request) -> Response:
        session_id = request.state.session_id
        form = AddressForm.read({k: str(v) for k, v in (await request.form()).items()})
        if not form.valid:
            view = await self.checkout.create(session_id, self.carts.get(session_id))  # 0.4.0 re-created it too
            return self.render(
                request, "checkout-shipping.html", step=1, checkout=view, form=form, checked=True, states=US_STATES
            )
        view = await self.checkout.shipping(session_id, form.values["email"], form.address())
        return self.render(request, "checkout-delivery.html", step=2, checkout=view, missing_token=False)

    async def delivery(self, request: Request) -> Response:
        token = str((await request.form()).get("token", ""))
        if not valid_delivery_token(token):
            view = await self.checkout.get(request.state.session_id)
            return self.render(request, "checkout-delivery.html", step=2, checkout=view, missing_token=True)
        view = await self.checkout.delivery(request.state.session_id, token)
        return self.render(request, "checkout-payment.html", step=3, checkout=view)

    async def payment(self, request: Request) -> Response:
        # 0.4.0 neither validated nor stored the card fields; neither do we (nothing is charged).
        view = await self.checkout.get(request.state.session_id)
        return self.render(request, "checkout-confirm.html", step=4, checkout=view)

    async def confirm(self, request: Request) -> Response:
        session_id = request.state.session_id
        order = await self.checkout.submit(session_id)
        # Only after a successful submit (0.4.0 emptied the cart even when the submit failed).
        self.carts.delete(session_id)
        return self.render(request, "order.html", order_id=order.get("orderId"), email=order.get("customerEmail"))

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "UP"})  # Spring actuator's shape, what the ui-alb health check polled

    async def error_page(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if isinstance(exc, CheckoutUnavailable):
            log.error("checkout API: %s", exc)
        elif status >= 500:
            log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        if not hasattr(request.state, "session_id"):
            request.state.session_id = ""
        return self.render(
            request, "error.html", status=status, code=status, checkout_down=isinstance(exc, CheckoutUnavailable)
        )


def _routes(pages: Pages) -> list[Route | Mount]:
    return [
        Route("/", lambda request: RedirectResponse("/home", status_code=302)),
        Route("/home", pages.home),
        Route("/catalog", pages.catalog),
        Route("/catalog/{product_id}", pages.product),
        Route("/cart", pages.view_cart, methods=["GET"]),
        Route("/cart", pages.add_to_cart, methods=["POST"]),
        Route("/cart/update", pages.update_cart, methods=["POST"]),
        Route("/cart/remove", pages.remove_from_cart, methods=["POST"]),
        Route("/checkout", pages.start_checkout, methods=["GET"]),
        Route("/checkout", pages.shipping, methods=["POST"]),
        Route("/checkout/delivery", pages.delivery, methods=["POST"]),
        Route("/checkout/payment", pages.payment, methods=["POST"]),
        Route("/checkout/confirm", pages.confirm, methods=["POST"]),
        Route("/assets/img/{name}", pages.image),
        Mount("/assets", StaticFiles(directory=str(HERE / "static")), name="assets"),
        Route("/actuator/health", pages.health),
    ]


def create_app(checkout: CheckoutClient, carts: CartStore | None = None, banner: str = "") -> Starlette:
    pages = Pages(checkout, carts or MemoryCartStore(), banner)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await checkout.close()

    handlers = {HTTPException: pages.error_page, CheckoutUnavailable: pages.error_page, Exception: pages.error_page}
    return Starlette(
        routes=_routes(pages),
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=session_cookie)],
        exception_handlers=handlers,
        lifespan=lifespan,
    )


def app_from_environment(environ: Mapping[str, str] | None = None) -> Starlette:
    """ENDPOINTS_CHECKOUT (default http://localhost:8081), RETAIL_UI_BANNER (a grey strip above the nav)."""
    env = os.environ if environ is None else environ
    endpoint = (env.get("ENDPOINTS_CHECKOUT") or "http://localhost:8081").rstrip("/")
    return create_app(CheckoutClient(trusting_client(endpoint, env)), banner=env.get("RETAIL_UI_BANNER", ""))
