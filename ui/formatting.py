"""Display formats shared by pages: money from Decimal/cents-exact values, percentages, dates."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal


def money(value: Decimal | int | None, currency: str = "$") -> str:
    if value is None:
        return "–"
    amount = Decimal(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}{currency}{abs(amount):,.2f}"


def compact_money(value: Decimal | int | None, currency: str = "$") -> str:
    """$929.9k / $11.16M for headline tiles, where the exact amount would be cut off; below
    $10,000 the exact amount fits and is shown."""
    if value is None:
        return "–"
    amount = Decimal(value)
    sign = "-" if amount < 0 else ""
    for threshold, divisor, suffix, places in ((10**6, 10**6, "M", 2), (10**4, 10**3, "k", 1)):
        if abs(amount) >= threshold:
            return f"{sign}{currency}{abs(amount) / divisor:,.{places}f}{suffix}"
    return money(amount, currency)


def byte_scale(largest: float) -> tuple[float, str]:
    """The divisor and unit that show `largest` bytes with a readable number (KiB … TiB)."""
    for power, unit in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if abs(largest) >= 1024**power:
            return 1024.0**power, unit
    return 1.0, "B"


def percent(value: float | Decimal | None, places: int = 3) -> str:
    return "no data" if value is None else f"{Decimal(str(value)):.{places}f} %"


def when(value: datetime | None) -> str:
    return "–" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M")


def age(since: datetime | None, now: datetime) -> str:
    """How long ago, in the largest whole unit: "just now", "12 min", "5 h", "3 d"."""
    if since is None:
        return "–"
    seconds = max(0, int((now - since).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return "just now"
