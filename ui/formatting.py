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


def percent(value: float | Decimal | None, places: int = 3) -> str:
    return "no data" if value is None else f"{Decimal(str(value)):.{places}f} %"


def when(value: datetime | None) -> str:
    return "–" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M")
