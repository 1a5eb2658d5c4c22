"""What the Uptime screen says about frames already read (views.py): no database here, so the
page only lays figures out. Definitions as in docs/uptime.md (uptime is count-based; MTTR is the
mean whole duration of the resolved incidents)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from control_plane.uptime import slo
from control_plane.uptime.figures import fixed
from control_plane.uptime.views import incidents_mttr_minutes

SCOPES = ("all", "tenant", "platform")


def slo_rows(table: pd.DataFrame, scope: str | None, *, missed_only: bool) -> pd.DataFrame:
    """Rows of `views.uptime_table` in a scope (`all`/None: every row), optionally only those
    missing the SLO."""
    shown = table if scope in (None, "all") else table[table["scope"] == scope]
    return shown[~shown["slo_met"].astype(bool)] if missed_only else shown


def over_latency_slo(latency: pd.DataFrame) -> int:
    """Targets of `views.latency_table` whose p95 is over the latency SLO (no p95 counts as over)."""
    return int((~latency["within_slo"].astype(bool)).sum())


def span_uptime_pct(points: pd.DataFrame) -> float | None:
    """Uptime over the points of `views.check_history` (raw checks and hourly roll-ups alike)."""
    return slo.uptime_pct(int(points["checks"].sum()), int(points["ok"].sum()))


def span_uptime_text(points: pd.DataFrame) -> str:
    """`span_uptime_pct` for display: 3 decimals, half-up on the exact value."""
    return fixed(slo.uptime_exact(int(points["checks"].sum()), int(points["ok"].sum())), 3) + " %"


@dataclass(frozen=True)
class IncidentTally:
    total: int
    open: int
    mttr_minutes: float | None

    def describe(self) -> str:
        mttr = "n/a" if self.mttr_minutes is None else f"{fixed(self.mttr_minutes, 1)} min"
        return f"{self.total} incidents, {self.open} open; MTTR {mttr}"


def incident_tally(incidents: pd.DataFrame) -> IncidentTally:
    """Counts and MTTR of a `views.incidents_frame`."""
    still_open = int((incidents["status"] != "resolved").sum())
    return IncidentTally(len(incidents), still_open, incidents_mttr_minutes(incidents))
