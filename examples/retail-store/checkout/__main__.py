"""`python -m checkout`: serve the checkout API on $PORT (default 8081, where the storefront looks by default)."""

from __future__ import annotations

import logging
import os

import uvicorn

from checkout.app import app_from_environment

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    host = os.environ.get("HOST", "127.0.0.1")
    uvicorn.run(app_from_environment(), host=host, port=int(os.environ.get("PORT", "8081")), log_level="info")
