"""A small stand-in for a monolith: importing it does real work, as big applications do."""

from inventory.catalog import Catalog, Item
from inventory.pricing import price_with_tax

__all__ = ["Catalog", "Item", "price_with_tax"]
