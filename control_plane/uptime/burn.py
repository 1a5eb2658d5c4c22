"""Burn-rate alerts (multiwindow, multi-burn-rate) for every target that failed recently.

Only targets with a failed check in the longest window can burn budget, and failures are rare,
so each sweep looks at a handful of targets instead of all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from control_plane.uptime import raw, slo
from control_plane.uptime.alerts import NewAlert
from control_plane.uptime.counts import counts
from control_plane.uptime.store import read_marks

LONGEST = max(w.long for w in slo.BURN_WINDOWS)


@dataclass(frozen=True)
class Burn:
    target: str
    tenant_slug: str | None
    window: slo.BurnWindow
    long_rate: float
    short_rate: float


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
    rates: dict[timedelta, dict[str, tuple[float | None, str | None]]] = {}
    for duration in durations:
        frame = counts(session, now - duration, now, targets=targets, marks=marks, with_p95=False)
        rates[duration] = {row.target: (slo.burn_rate(int(row.checks), int(row.ok), slo_target), row.tenant_slug)
                           for row in frame.itertuples()}
    found = []
    for target in targets:
        for window in slo.BURN_WINDOWS:
            long_rate, tenant = rates[window.long].get(target, (None, None))
            short_rate, _ = rates[window.short].get(target, (None, None))
            if slo.firing(window, long_rate, short_rate):
                found.append(Burn(target, tenant, window, long_rate or 0.0, short_rate or 0.0))
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
                    f"{burn.long_rate:.1f}× over {slo.fmt_duration(burn.window.long)} and {burn.short_rate:.1f}× over "
                    f"{slo.fmt_duration(burn.window.short)} ({burn.window.severity})."))
    return new
