"""Lattice operations for resource_associations (to be written)."""

from __future__ import annotations

__all__: list[str] = []
