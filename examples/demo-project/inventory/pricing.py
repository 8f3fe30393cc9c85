import decimal

TAX_RATE = decimal.Decimal("0.20")


def price_with_tax(cents: int) -> int:
    return int((decimal.Decimal(cents) * (1 + TAX_RATE)).to_integral_value(decimal.ROUND_HALF_UP))
