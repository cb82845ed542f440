"""The retail store's checkout API: run it with `python -m checkout` from examples/retail-store (see README)."""
