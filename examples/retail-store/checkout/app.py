"""The checkout API (0.4.0's NestJS service, rewritten): the storefront keeps a checkout per session here between
the steps, and submit turns it into an order through the orders API.

    GET  /checkout/{customerId}          200 Checkout | 404 "Checkout not found"
    POST /checkout/{customerId}/update   201 Checkout | 400 validation messages
    POST /checkout/{customerId}/submit   201 {orderId, customerEmail} | 500 (no checkout, or orders failed)
    GET  /health                         200 terminus-style status (the checkout-alb health check)

Owns: the routes, NestJS's error shapes and status codes, and the generated ids. Pricing and validation are
`model`'s; storage is `repository`'s; the orders call is `orders_client`'s.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import string
from collections.abc import AsyncIterator, Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checkout.model import build_checkout, order_request, shipping_rates, validate_request
from checkout.orders_client import HttpOrdersService, MockOrdersService, OrdersFailed, OrdersService, trusting_client
from checkout.repository import CheckoutRepository, repository_from_environment

__all__ = ["app_from_environment", "create_app"]

log = logging.getLogger("checkout")
_ALNUM = string.ascii_letters + string.digits
_REASONS = {400: "Bad Request", 404: "Not Found"}


def random_text(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def nest_error(status: int, message: object) -> JSONResponse:
    """NestJS's HttpException body; a 500 carries no `error` field."""
    if status >= 500:
        return JSONResponse({"statusCode": 500, "message": "Internal server error"}, status_code=500)
    return JSONResponse({"statusCode": status, "message": message, "error": _REASONS[status]}, status_code=status)


def create_app(repository: CheckoutRepository, orders: OrdersService, shipping_name_prefix: str = "") -> Starlette:
    rates = shipping_rates(shipping_name_prefix)

    async def get_checkout(request: Request) -> Response:
        checkout = await repository.get(request.path_params["customer_id"])
        if checkout is None:
            return nest_error(404, "Checkout not found")
        return JSONResponse(checkout)

    async def update(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError as error:
            return nest_error(400, f"the body is not valid JSON: {error}")
        if errors := validate_request(body):
            return nest_error(400, errors)
        ids = {"shipment_id": random_text(32), "payment_id": random_text(16), "payment_token": random_text(32)}
        checkout = build_checkout(body, rates, **ids)
        await repository.put(request.path_params["customer_id"], checkout)
        return JSONResponse(checkout, status_code=201)

    async def submit(request: Request) -> Response:
        customer_id = request.path_params["customer_id"]
        checkout = await repository.get(customer_id)
        if checkout is None:
            # 0.4.0 threw a plain Error here, which Nest turns into a bare 500 (not a 404).
            log.warning("submit for %s: Checkout not found", customer_id)
            return nest_error(500, "Checkout not found")
        try:
            order = await orders.create(order_request(checkout))
        except OrdersFailed as error:
            log.error("submit for %s: %s", customer_id, error)
            return nest_error(500, str(error))
        await repository.delete(customer_id)
        body = {"orderId": order["id"], "customerEmail": checkout["request"].get("customerEmail")}
        return JSONResponse(body, status_code=201)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "info": {}, "error": {}, "details": {}})

    async def not_found(request: Request, exc: Exception) -> Response:
        # Nest answers an unknown route or method with 404 "Cannot METHOD /path".
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status in (404, 405):
            return nest_error(404, f"Cannot {request.method} {request.url.path}")
        return nest_error(status if status in _REASONS else 500, getattr(exc, "detail", ""))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await orders.close()
        await repository.close()

    routes = [
        Route("/checkout/{customer_id}", get_checkout, methods=["GET"]),
        Route("/checkout/{customer_id}/update", update, methods=["POST"]),
        Route("/checkout/{customer_id}/submit", submit, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: not_found}, lifespan=lifespan)


def orders_from_environment(environ: Mapping[str, str]) -> OrdersService:
    """HTTP to ENDPOINTS_ORDERS when set (https://orders.example.com in the demo), else 0.4.0's mock."""
    endpoint = environ.get("ENDPOINTS_ORDERS", "").strip()
    if not endpoint or endpoint == "false":
        return MockOrdersService()
    return HttpOrdersService(trusting_client(endpoint.rstrip("/"), environ))


def app_from_environment(environ: Mapping[str, str] | None = None) -> Starlette:
    env = os.environ if environ is None else environ
    repository = repository_from_environment(env)
    return create_app(repository, orders_from_environment(env), env.get("SHIPPING_NAME_PREFIX", ""))
