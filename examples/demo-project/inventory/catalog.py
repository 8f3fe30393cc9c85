import dataclasses
import re

# Import-time work, like a monolith's registries, routing tables and compiled validators.
SKU_PATTERNS = [re.compile(rf"^{prefix}-\d{{4}}-[A-Z]{{2}}{n}$") for prefix in ("INV", "SKU", "PRD") for n in range(8000)]


def _primes(limit):
    sieve = bytearray([1]) * (limit + 1)
    sieve[0:2] = b"\0\0"
    for i in range(2, int(limit**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
    return [i for i, flag in enumerate(sieve) if flag]


CHECK_DIGITS = _primes(12_000_000)


@dataclasses.dataclass(frozen=True)
class Item:
    sku: str
    name: str
    cents: int


class Catalog:
    def __init__(self):
        self._items = {}

    def add(self, item: Item) -> None:
        if item.sku in self._items:
            raise ValueError(f"duplicate SKU {item.sku}")
        self._items[item.sku] = item

    def total_cents(self) -> int:
        return sum(item.cents for item in self._items.values())

    def __len__(self) -> int:
        return len(self._items)
