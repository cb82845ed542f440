"""`python -m storefront`: serve the storefront on $PORT (default 8080, the seed's container port)."""

from __future__ import annotations

import logging
import os

import uvicorn

from storefront.app import app_from_environment

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    host = os.environ.get("HOST", "127.0.0.1")
    uvicorn.run(app_from_environment(), host=host, port=int(os.environ.get("PORT", "8080")), log_level="info")
