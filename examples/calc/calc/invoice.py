"""Invoice totals."""

from calc.money import percent_of, round_cents


def total(prices: list[float], discount_percent: float = 0.0) -> float:
    """Sum the prices and take off the discount."""
    subtotal = sum(prices)
    discount = percent_of(subtotal, discount_percent)
    return round_cents(subtotal + discount)
