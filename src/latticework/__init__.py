"""Latticework: a self-hosted, AWS-compatible VPC Lattice with the compute around it."""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"
