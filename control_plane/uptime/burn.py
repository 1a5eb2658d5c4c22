"""Burn-rate alerts (multiwindow, multi-burn-rate) for every target that failed recently.

Only targets with a failed check in the longest window can burn budget, and failures are rare,
so each sweep looks at a handful of targets instead of all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from sqlalchemy import text
from sqlalchemy.orm import Session

from control_plane.core.alerts import NewAlert
from control_plane.uptime import raw, slo
from control_plane.uptime.counts import counts
from control_plane.uptime.figures import fixed
from control_plane.uptime.store import read_marks

LONGEST = max(w.long for w in slo.BURN_WINDOWS)


@dataclass(frozen=True)
class Burn:
    target: str
    tenant_slug: str | None
    window: slo.BurnWindow
    long_checks: int
    long_failed: int
    short_checks: int
    short_failed: int
    slo_target: float

    @property
    def long_rate(self) -> Fraction:
        return slo.burn_exact(self.long_checks, self.long_checks - self.long_failed, self.slo_target) or Fraction(0)

    @property
    def short_rate(self) -> Fraction:
        return slo.burn_exact(self.short_checks, self.short_checks - self.short_failed,
                              self.slo_target) or Fraction(0)


def candidates(session: Session, now: datetime) -> list[str]:
    since = now - LONGEST
    return list(session.execute(text(
        f"SELECT t.name FROM control_plane.check_targets t WHERE t.id IN {raw.failing(':since', raw.NO_END)} "
        "UNION SELECT DISTINCT target FROM control_plane.check_rollups "
        " WHERE granularity = 'hour' AND ok < checks AND bucket_start >= :since"), {"since": since}).scalars())


def burning(session: Session, now: datetime, slo_target: float, targets: list[str] | None = None) -> list[Burn]:
    """Every (target, window) whose long and short windows both burn at least the window's factor."""
    targets = candidates(session, now) if targets is None else targets
    if not targets:
        return []
    marks = read_marks(session)
    durations = sorted({w.long for w in slo.BURN_WINDOWS} | {w.short for w in slo.BURN_WINDOWS})
    tallies: dict[timedelta, dict[str, tuple[int, int, str | None]]] = {}
    for duration in durations:
        frame = counts(session, now - duration, now, targets=targets, marks=marks, with_p95=False)
        tallies[duration] = {row.target: (int(row.checks), int(row.ok), row.tenant_slug) for row in frame.itertuples()}
    found = []
    for target in sorted(targets):
        for window in slo.BURN_WINDOWS:
            long = tallies[window.long].get(target)
            short = tallies[window.short].get(target)
            # exact: failed ≥ factor × checks × (1 − SLO) in both windows (docs/uptime.md "Burn-rate alerts")
            if slo.firing(window, long and long[:2], short and short[:2], slo_target):
                found.append(Burn(target, long[2], window, long[0], long[0] - long[1], short[0], short[0] - short[1],
                                  slo_target))
    return found


def evaluate(session: Session, now: datetime, slo_target: float) -> list[NewAlert]:
    """New burn-rate alerts: one per target (its most urgent firing window), none for a target
    whose open incident already paged, and none repeated within the window's short span."""
    new = []
    open_targets = set(session.execute(text(
        "SELECT target FROM control_plane.incidents WHERE resolved_at IS NULL")).scalars())
    seen: set[str] = set()
    for burn in burning(session, now, slo_target):
        if burn.target in open_targets or burn.target in seen:
            continue
        seen.add(burn.target)
        label = burn.window.label
        recent = session.execute(text(
            "SELECT 1 FROM control_plane.alerts WHERE kind = 'burn_rate' AND target = :target "
            "AND at >= :since AND message LIKE :prefix LIMIT 1"),
            {"target": burn.target, "since": now - max(burn.window.short, timedelta(hours=1)),
             "prefix": f"[{label}]%"}).first()
        if recent:
            continue
        severity = "critical" if burn.window.severity == "page" else "warning"
        new.append(NewAlert(
            "burn_rate", severity, target=burn.target, tenant_slug=burn.tenant_slug,
            message=f"[{label}] {burn.target} is burning its {slo_target * 100:g}% error budget at "
                    f"{fixed(burn.long_rate, 1)}× over {slo.fmt_duration(burn.window.long)} and "
                    f"{fixed(burn.short_rate, 1)}× over "
                    f"{slo.fmt_duration(burn.window.short)} ({burn.window.severity})."))
    return new
