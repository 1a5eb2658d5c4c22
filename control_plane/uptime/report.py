"""`uptime report`: one object per target with checks in [from, to), as docs/uptime.md "`uptime report`" defines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import text

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.errors import InvalidInput
from control_plane.uptime.counts import counts
from control_plane.uptime.figures import half_up
from control_plane.uptime.runs import detect_runs
from control_plane.uptime.store import read_marks

FIELDS = ["target", "checks", "ok", "uptime_pct", "incidents", "mttr_seconds", "p95_latency_ms"]
# Incidents are followed to the latest check stored, however far past the window that is.
LATEST = datetime(9999, 1, 1, tzinfo=UTC)

Span = tuple[datetime, datetime | None]


def mttr_seconds(spans: Iterable[Span]) -> float | None:
    """Mean duration of the resolved incidents among `spans`, each with its whole duration
    (docs/uptime.md "MTTR"); None when none is resolved."""
    durations = [(resolved - opened).total_seconds() for opened, resolved in spans if resolved is not None]
    return sum(durations) / len(durations) if durations else None


# The oldest and newest instants a report may name (the importer accepts checks from 2000 on), and
# the longest window: a report walks the window hour by hour at its edges, so an unbounded one
# (0001 to 9999) would run for many minutes.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
NEWEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_WINDOW_DAYS = 3 * 366


def check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("--from and --to need a time zone (e.g. 2025-01-01T00:00:00Z).")
    if end <= start:
        raise InvalidInput(f"--to ({end.isoformat()}) must be after --from ({start.isoformat()}); --to is exclusive.")
    if start < EARLIEST or end > NEWEST:
        raise InvalidInput(f"The window must lie between {EARLIEST:%Y-%m-%d} and {NEWEST:%Y-%m-%d}.")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise InvalidInput(f"The window is longer than {MAX_WINDOW_DAYS} days; ask for it in parts.")


def incident_spans(session, start: datetime, end: datetime, threshold: int,
                   targets: list[str] | None = None) -> dict[str, list[Span]]:
    """(opened_at, resolved_at) of incidents opening in [start, end): detected from raw checks
    where they still exist (the checks before `start` seen too), read from the incidents table for
    pruned history. An incident is followed past `end` to the latest check stored, so one that
    resolves after the window has its resolution (None only while it is still open)."""
    marks = read_marks(session)
    spans: dict[str, list[Span]] = defaultdict(list)
    raw_from = max(start, marks.raw_since) if marks.raw_since else start
    if raw_from < end:
        for run in detect_runs(session, raw_from, end, threshold, targets=targets, seen_until=LATEST):
            spans[run.target].append((run.opened_at, run.resolved_at))
    if marks.raw_since and start < marks.raw_since:
        params: dict[str, Any] = {"a": start, "b": min(end, marks.raw_since)}
        extra = ""
        if targets is not None:
            params["targets"], extra = targets, " AND target = ANY(:targets)"
        for target, opened, resolved in session.execute(text(
                "SELECT target, opened_at, resolved_at "
                "FROM control_plane.incidents WHERE opened_at >= :a AND opened_at < :b" + extra), params):
            spans[target].append((opened, resolved))
    return spans


def report(ctx: AppContext, actor: Actor, start: datetime, end: datetime) -> list[dict[str, Any]]:
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.report")
    check_window(start, end)
    with ctx.session_factory() as session:
        frame = counts(session, start, end)
        spans = incident_spans(session, start, end, ctx.settings.incident_threshold)
    out = []
    for row in frame.itertuples():
        checks, ok = int(row.checks), int(row.ok)
        opened = spans.get(row.target, [])
        out.append({
            "target": row.target,
            "checks": checks,
            "ok": ok,
            "uptime_pct": half_up(Fraction(100 * ok, checks), 3),
            "incidents": len(opened),
            "mttr_seconds": mttr_seconds(opened),
            "p95_latency_ms": None if row.p95_latency_ms != row.p95_latency_ms else float(row.p95_latency_ms),
        })
    return out
