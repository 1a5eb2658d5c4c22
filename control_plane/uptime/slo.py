"""SLO arithmetic: error budget and burn rate (Google SRE workbook, "Alerting on SLOs").

Uptime is count-based, so the budget is a share of checks: with a 99.9% target, 0.1% of the
window's checks may fail. Over 30 days that is 43.2 minutes of full downtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

from control_plane.uptime.figures import exact

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
    return float((1 - exact(slo_target)) * exact(period.total_seconds()) / 60)


def uptime_exact(checks: int, ok: int) -> Fraction | None:
    """100 × ok ÷ checks, exactly; None without checks."""
    return None if checks == 0 else Fraction(100 * ok, checks)


def slo_met(checks: int, ok: int, slo_target: float) -> bool | None:
    """Uptime ≥ 100 × SLO on the exact value (never on a rounded one): ok ≥ SLO × checks.
    None without checks."""
    return None if checks == 0 else ok >= exact(slo_target) * checks


def burn_exact(checks: int, ok: int, slo_target: float) -> Fraction | None:
    """(failed ÷ checks) ÷ (1 − SLO), exactly; None without checks (or with a 100 % SLO)."""
    allowed = 1 - exact(slo_target)
    if checks == 0 or allowed <= 0:
        return None
    return Fraction(checks - ok, checks) / allowed


def budget_left_exact(checks: int, ok: int, slo_target: float) -> Fraction | None:
    """100 × (1 − failed ÷ ((1 − SLO) × checks)), exactly; None without checks (or with a 100 % SLO)."""
    allowed = (1 - exact(slo_target)) * checks
    if checks == 0 or allowed <= 0:
        return None
    return 100 * (1 - (checks - ok) / allowed)


def reaches(window: BurnWindow, checks: int, ok: int, slo_target: float) -> bool:
    """The burn rate over one window of a pair reaches its factor, decided exactly:
    failed ≥ factor × checks × (1 − SLO). A window without checks never reaches it."""
    if checks == 0:
        return False
    return checks - ok >= exact(window.factor) * checks * (1 - exact(slo_target))


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def uptime_pct(checks: int, ok: int) -> float | None:
    return _float(uptime_exact(checks, ok))


def burn_rate(checks: int, ok: int, slo_target: float) -> float | None:
    """How many times faster than sustainable the budget is being spent (1.0 = exactly on budget)."""
    return _float(burn_exact(checks, ok, slo_target))


def budget_left_pct(checks: int, ok: int, slo_target: float) -> float | None:
    """Share of the window's error budget not yet spent; negative once the SLO is missed."""
    return _float(budget_left_exact(checks, ok, slo_target))


def firing(window: BurnWindow, long: tuple[int, int] | None, short: tuple[int, int] | None,
           slo_target: float) -> bool:
    """A pair fires when both its windows' (checks, ok) reach the factor (`reaches`)."""
    return (long is not None and short is not None
            and reaches(window, *long, slo_target) and reaches(window, *short, slo_target))
