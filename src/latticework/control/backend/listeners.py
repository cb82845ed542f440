"""Lattice operations for listeners (to be written)."""

from __future__ import annotations

__all__: list[str] = []
