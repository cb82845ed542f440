"""Lattice operations for domain_verifications (to be written)."""

from __future__ import annotations

__all__: list[str] = []
