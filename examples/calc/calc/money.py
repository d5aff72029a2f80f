"""Money helpers."""


def percent_of(amount: float, percent: float) -> float:
    """Return `percent` percent of `amount`."""
    return amount * percent / 100


def round_cents(amount: float) -> float:
    """Round to whole cents."""
    return round(amount, 2)
