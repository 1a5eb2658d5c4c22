"""`uptime import FILE.csv`: check history from another monitor (target,checked_at,ok,latency_ms).

The file is read row by row (control_plane.csv_input: strict UTF-8, bounded, line numbers) and
each valid row is COPYed into a staging table inside the import's transaction, so memory stays
flat whatever the file's size. Any bad row — or a bad byte — rejects the whole file with its line
number and nothing is imported. Importing a file again replaces the checks it names (same target
and instant) instead of duplicating them. Roll-ups and incidents of the imported targets are
brought up to date in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select

from control_plane import csv_input
from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.authorization import authorize
from control_plane.db.models import Tenant
from control_plane.errors import InvalidInput
from control_plane.uptime import incidents, raw, staging, targets
from control_plane.uptime.raw import CheckRow
from control_plane.uptime.rollup import CHECKS_AHEAD, CHECKS_FROM, refresh_range
from control_plane.uptime.windows import floor_hour

HEADER = ["target", "checked_at", "ok", "latency_ms"]
ERRORS_SHOWN = 20
LATENCY_MAX = Decimal("21474836.47")  # stored as int4 hundredths of a millisecond (~6 h)
TARGET_MAX = 200
# A parsed check: file line, target, checked_at, ok, latency in milliseconds.
ParsedCheck = tuple[int, str, datetime, bool, Decimal | None]


@dataclass(frozen=True)
class ImportResult:
    rows: int
    replaced: int
    targets: int
    incidents_found: int
    first: datetime | None
    last: datetime | None


class _Problems:
    """Bad rows seen so far: all counted, the first ERRORS_SHOWN (by line) kept for the message."""

    def __init__(self) -> None:
        self.count = 0
        self.shown: list[tuple[int, str]] = []

    def add(self, line: int, message: str, *, counted: bool = True) -> None:
        self.count += counted
        self.shown = sorted([*self.shown, (line, message)])[:ERRORS_SHOWN]

    def reject(self, source: str) -> InvalidInput:
        more = f" (and {self.count - len(self.shown)} more)" if self.count > len(self.shown) else ""
        return InvalidInput(f"{source}: {self.count} bad row(s), nothing imported: "
                            + "; ".join(f"line {line}: {message}" for line, message in self.shown) + more)


def import_file(ctx: AppContext, actor: Actor, path: Path, *, now: datetime | None = None) -> ImportResult:
    """Import a check-result CSV. `now` bounds checked_at (at most a day ahead of it); the CLI
    passes the clock, tests a fixed instant."""
    source = str(path)
    authorize(ctx, actor, Permission.UPTIME_IMPORT, "uptime.import", target=source)
    now = now or datetime.now(UTC)
    problems = _Problems()
    checks = _checks(csv_input.rows(path, source), source, now, problems)
    return _import(ctx, actor, checks, source, now=now, problems=problems)


def import_rows(ctx: AppContext, actor: Actor, rows: Iterable[ParsedCheck], source: str, *,
                now: datetime | None = None) -> ImportResult:
    """Import checks already parsed by the caller (tests, demo data) the same way as a file."""
    authorize(ctx, actor, Permission.UPTIME_IMPORT, "uptime.import", target=source)
    checks = ((line, target, at, ok, raw.to_cms(latency)) for line, target, at, ok, latency in rows)
    return _import(ctx, actor, checks, source, now=now or datetime.now(UTC), problems=_Problems())


def _checks(records: Iterator[tuple[int, list[str]]], source: str, now: datetime,
            problems: _Problems) -> Iterator[staging.StagedCheck]:
    """Valid rows as staged checks; bad ones go to `problems`. Valid rows are staged even after a
    bad one, so duplicates among them are reported together with the rest."""
    header = next(records, None)
    if header is None:
        raise InvalidInput(f"{source}: line 1: the file is empty; expected the header {','.join(HEADER)}.")
    if [h.strip().lower() for h in header[1]] != HEADER:
        shown = ",".join(header[1])[:200]
        raise InvalidInput(f"{source}: line 1: the header must be exactly {','.join(HEADER)} (got {shown}).")
    latest = now + CHECKS_AHEAD
    for line, row in records:
        if not row or all(not cell.strip() for cell in row):
            continue
        try:
            target, at, ok, latency = _row(row, latest)
        except ValueError as exc:
            problems.add(line, str(exc))
            continue
        yield line, target, at, ok, raw.to_cms(latency)


def _row(row: list[str], latest: datetime) -> tuple[str, datetime, bool, Decimal | None]:
    if len(row) != len(HEADER):
        raise ValueError(f"expected {len(HEADER)} fields ({','.join(HEADER)}), got {len(row)}")
    target, raw_at, raw_ok, raw_latency = (cell.strip() for cell in row)
    if not target:
        raise ValueError("target is empty")
    if len(target) > TARGET_MAX:
        raise ValueError(f"target is longer than {TARGET_MAX} characters")
    at = _instant(raw_at, latest)
    ok_text = raw_ok.lower()
    if ok_text not in ("true", "false"):
        raise ValueError(f"ok must be true or false, got {_short(raw_ok)}")
    latency: Decimal | None = None
    if raw_latency:
        try:
            latency = Decimal(raw_latency)
        except InvalidOperation:
            raise ValueError(f"latency_ms {_short(raw_latency)} is not a number") from None
        if not latency.is_finite() or latency < 0 or latency > LATENCY_MAX:
            raise ValueError(f"latency_ms must be between 0 and {LATENCY_MAX}, got {_short(raw_latency)}")
    return target, at, ok_text == "true", latency


def _instant(text: str, latest: datetime) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"checked_at {_short(text)} is not an ISO-8601 date-time") from None
    if at.tzinfo is None:
        raise ValueError(f"checked_at {_short(text)} has no time zone (add Z or +00:00)")
    try:  # 0001-01-01T00:00+05:00 is in year 0 in UTC, 9999-12-31T23:59-01:00 in year 10000
        in_utc = at.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not CHECKS_FROM <= in_utc <= latest:
        raise ValueError(f"checked_at {_short(text)} is outside {CHECKS_FROM:%Y-%m-%d} to "
                         f"{latest:%Y-%m-%dT%H:%M}Z (a day after now)")
    return in_utc


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:60] + "…")


def _import(ctx: AppContext, actor: Actor, checks: Iterable[staging.StagedCheck], source: str, *, now: datetime,
            problems: _Problems) -> ImportResult:
    with ctx.session_factory() as session:
        staging.create(session)
        staging.copy(session, checks)
        repeated, pairs = staging.duplicates(session, ERRORS_SHOWN)
        for line, first in pairs:
            problems.add(line, f"duplicate of line {first} (same target and checked_at)", counted=False)
        problems.count += repeated
        if problems.count:
            raise problems.reject(source)  # the session rolls back: nothing staged survives
        staged = staging.summary(session)
        if not staged.rows:
            raise InvalidInput(f"{source}: line 1: a header but no rows; nothing imported.")
        assert staged.first is not None and staged.last is not None
        names = staged.targets
        slugs = set(session.scalars(select(Tenant.slug).where(
            Tenant.slug.in_({targets.tenant_of(n) or n for n in names}))))
        raw.target_ids(session, [CheckRow(n, _tenant(n, slugs), targets.kind_of(n), staged.first, True, None)
                                 for n in names])
        replaced = staging.move_to_raw(session)
        refresh_range(session, staged.first, staged.last + timedelta(microseconds=1))
        found = incidents.reconcile(session, names, ctx.settings.incident_threshold)
        raw.compact(session, floor_hour(now) - raw.COMPACT_LAG)  # old history: straight to hour rows
        result = ImportResult(rows=staged.rows, replaced=replaced, targets=len(names),
                              incidents_found=found.opened, first=staged.first, last=staged.last)
        audit.record(session, actor, "uptime.import", target=source,
                     detail={"rows": result.rows, "replaced": replaced, "targets": result.targets,
                             "first": staged.first.isoformat(), "last": staged.last.isoformat(),
                             "new_incidents": found.opened})
        session.commit()
    return result


def _tenant(target: str, slugs: set[str]) -> str | None:
    slug = targets.tenant_of(target) or target
    return slug if slug in slugs else None
