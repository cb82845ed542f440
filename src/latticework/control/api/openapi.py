"""OpenAPI 3 document of the VPC Lattice API, generated from botocore's model (to be written)."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]


def openapi_document() -> dict[str, Any]:
    raise NotImplementedError
