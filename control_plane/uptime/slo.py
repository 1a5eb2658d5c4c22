"""SLO arithmetic: error budget and burn rate (Google SRE workbook, "Alerting on SLOs").

Uptime is count-based, so the budget is a share of checks: with a 99.9% target, 0.1% of the
window's checks may fail. Over 30 days that is 43.2 minutes of full downtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

SLO_PERIOD = timedelta(days=30)


@dataclass(frozen=True)
class BurnWindow:
    long: timedelta
    short: timedelta
    factor: float
    severity: str  # page | ticket

    @property
    def label(self) -> str:
        return f"{fmt_duration(self.long)}/{fmt_duration(self.short)} ≥ {self.factor:g}×"


# Multiwindow, multi-burn-rate alerts: fire when both the long and the short window burn at the factor.
BURN_WINDOWS: tuple[BurnWindow, ...] = (
    BurnWindow(timedelta(hours=1), timedelta(minutes=5), 14.4, "page"),
    BurnWindow(timedelta(hours=6), timedelta(minutes=30), 6.0, "page"),
    BurnWindow(timedelta(days=3), timedelta(hours=6), 1.0, "ticket"),
)


def fmt_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def budget_minutes(slo_target: float, period: timedelta = SLO_PERIOD) -> float:
    return (1 - slo_target) * period.total_seconds() / 60


def uptime_pct(checks: int, ok: int) -> float | None:
    return None if checks == 0 else 100.0 * ok / checks


def burn_rate(checks: int, ok: int, slo_target: float) -> float | None:
    """How many times faster than sustainable the budget is being spent (1.0 = exactly on budget)."""
    if checks == 0:
        return None
    return ((checks - ok) / checks) / (1 - slo_target)


def budget_left_pct(checks: int, ok: int, slo_target: float) -> float | None:
    """Share of the window's error budget not yet spent; negative once the SLO is missed."""
    if checks == 0:
        return None
    allowed = (1 - slo_target) * checks
    return 100.0 * (1 - (checks - ok) / allowed)


def firing(window: BurnWindow, long_rate: float | None, short_rate: float | None) -> bool:
    return (long_rate is not None and short_rate is not None
            and long_rate >= window.factor and short_rate >= window.factor)
