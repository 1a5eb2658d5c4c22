"""The one clock: what "now" is for every service, job and run. AppContext.clock is it, unless a
test gives the context a clock it moves by hand (tests/clock.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
