"""Money rules of the MRR definitions: a state's MRR in integer cents, rounded half up once;
every aggregate is an integer sum of those cents."""

from __future__ import annotations

from decimal import Decimal

PAID_STATUSES = frozenset({"active", "past_due"})
STATUSES = ("trial", "active", "past_due", "paused", "canceled")
INTERVALS = ("month", "year")


def state_mrr_cents(price: Decimal, seats: int, discount_percent: Decimal, interval: str, status: str) -> int:
    """price × seats × (1 − discount/100) / (12 if year), in cents, half up; 0 unless paid.

    The reference for the generated column `subscription_changes.mrr_cents` (tests compare them)."""
    if status not in PAID_STATUSES:
        return 0
    # In cents: price × 100 × seats × (100 − d) / 100 = price × seats × (100 − d). Integer ratios keep
    # it exact whatever the magnitudes (Decimal arithmetic would round at its context precision).
    price_n, price_d = Decimal(price).as_integer_ratio()
    disc_n, disc_d = Decimal(discount_percent).as_integer_ratio()
    divisor = 12 if interval == "year" else 1
    return half_up_div(price_n * seats * (100 * disc_d - disc_n), price_d * disc_d * divisor)


def half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for numerator >= 0 and denominator > 0."""
    return (2 * numerator + denominator) // (2 * denominator)


def cents_to_decimal(cents: int) -> Decimal:
    """12345 -> Decimal('123.45') (always two decimals, also for 0 and negatives)."""
    return Decimal(int(cents)).scaleb(-2)


def arpa_cents(mrr_cents: int, customers: int) -> int:
    return half_up_div(mrr_cents, customers) if customers else 0
