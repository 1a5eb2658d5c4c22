"""Calendar months as integers (year × 12 + month − 1), so month arithmetic is subtraction."""

from __future__ import annotations

import re
from datetime import date

from control_plane.errors import InvalidInput

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def index(day: date) -> int:
    return day.year * 12 + day.month - 1


def label(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def first_day(month: int) -> date:
    return date(month // 12, month % 12 + 1, 1)


def parse(text: str, what: str = "month") -> int:
    """'2025-03' -> month index; InvalidInput naming the option otherwise."""
    match = _MONTH.match((text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput(f"{what} must be a month like 2025-03, not {text!r}.")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1
