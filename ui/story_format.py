"""Formats the tenant page needs beyond ui/formatting.py (owned by the formatting layer; these may
move there): full UTC instants, signed byte and count changes, shares of a plan allowance, cents,
and an audit entry's before/after as a readable change list."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from control_plane.units import human_bytes
from ui.formatting import money


def utc_time(value: datetime | None) -> str:
    """"2026-06-01 08:15:16 UTC": the whole instant, in UTC whatever the server's zone."""
    return "–" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def utc_day(value: datetime | None) -> str:
    return "–" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d")


def signed_bytes(change: int) -> str:
    """+292.9 KiB / −1.5 MiB / ±0 B: the sign leads, so Streamlit colours the delta by it."""
    if change == 0:
        return "±0 B"
    return ("+" if change > 0 else "-") + human_bytes(abs(change))


def signed_count(change: float, places: int = 0) -> str:
    if round(change, places) == 0:
        return "±0"
    return f"{change:+,.{places}f}"


def cents(value: int | None) -> str:
    return money(None if value is None else Decimal(value) / 100)


def signed_cents(value: int) -> str:
    if value == 0:
        return "±$0.00"
    return ("+" if value > 0 else "") + money(Decimal(value) / 100)


def share(value: Fraction | None) -> str:
    """A fraction of an allowance as a percentage, one decimal ("< 0.1 %" rather than a bare 0.0)."""
    if value is None:
        return "–"
    pct = float(value) * 100
    if 0 < pct < 0.05:
        return "< 0.1 %"
    return f"{pct:,.1f} %"


def days_until(when: datetime, now: datetime) -> str:
    days = (when - now).days
    if when <= now:
        return "due now"
    return "in less than a day" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"


def change_list(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """"plan: team → business; status: active → suspended": only what changed, keys in order."""
    before, after = before or {}, after or {}
    parts = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key not in before:
            parts.append(f"{key}: {_value(new)}")
        elif key not in after:
            parts.append(f"{key}: {_value(old)} removed")
        else:
            parts.append(f"{key}: {_value(old)} → {_value(new)}")
    return "; ".join(parts)


def _value(value: Any) -> str:
    return "–" if value is None else str(value)
