"""Lattice operations for resource_gateways (to be written)."""

from __future__ import annotations

__all__: list[str] = []
