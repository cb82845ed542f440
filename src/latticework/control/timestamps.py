"""AWS's timestamp text. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso8601"]


def iso8601(epoch: float) -> str:
    """`2023-05-07T05:08:45.192Z`, the form the AWS CLI examples show."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
