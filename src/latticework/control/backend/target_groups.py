"""Lattice operations for target_groups (to be written)."""

from __future__ import annotations

__all__: list[str] = []
