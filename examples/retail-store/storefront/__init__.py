"""The retail store's storefront (0.4.0's UI, rewritten): run it with `python -m storefront` from
examples/retail-store (see README)."""
