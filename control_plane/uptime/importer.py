"""`uptime import FILE.csv`: check history from another monitor (target,checked_at,ok,latency_ms).

The whole file is validated first; a bad row is reported with its line number and nothing of the
file is imported. Importing a file again replaces the checks it names (same target and instant)
instead of duplicating them. Roll-ups and incidents of the imported targets are brought up to date
in the same transaction.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.db.models import Tenant
from control_plane.errors import InvalidInput
from control_plane.services import audit
from control_plane.services.authorization import authorize
from control_plane.uptime import incidents, raw, targets
from control_plane.uptime.rollup import refresh_range
from control_plane.uptime.store import CheckRow
from control_plane.uptime.windows import floor_hour

HEADER = ["target", "checked_at", "ok", "latency_ms"]
ERRORS_SHOWN = 20
LATENCY_MAX = Decimal("21474836.47")  # stored as int4 hundredths of a millisecond (~6 h)


@dataclass(frozen=True)
class ImportResult:
    rows: int
    replaced: int
    targets: int
    incidents_found: int
    first: datetime | None
    last: datetime | None


def parse(handle: io.TextIOBase, source: str = "file") -> list[tuple[int, str, datetime, bool, Decimal | None]]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        raise InvalidInput(f"{source} is empty; expected the header {','.join(HEADER)}.")
    if [h.strip().lower() for h in header] != HEADER:
        raise InvalidInput(f"{source} line 1: the header must be exactly {','.join(HEADER)} (got {','.join(header)}).")
    parsed, errors, seen = [], [], {}
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        try:
            item = _row(row)
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
            continue
        key = (item[0], item[1])
        if key in seen:
            errors.append(f"line {line}: duplicate of line {seen[key]} (same target and checked_at)")
            continue
        seen[key] = line
        parsed.append((line, *item))
    if errors:
        more = f" (and {len(errors) - ERRORS_SHOWN} more)" if len(errors) > ERRORS_SHOWN else ""
        raise InvalidInput(f"{source}: {len(errors)} bad row(s), nothing imported: "
                           + "; ".join(errors[:ERRORS_SHOWN]) + more)
    return parsed


def _row(row: list[str]) -> tuple[str, datetime, bool, Decimal | None]:
    if len(row) != len(HEADER):
        raise ValueError(f"expected {len(HEADER)} fields ({','.join(HEADER)}), got {len(row)}")
    target, raw_at, raw_ok, raw_latency = (cell.strip() for cell in row)
    if not target:
        raise ValueError("target is empty")
    if len(target) > 200:
        raise ValueError("target is longer than 200 characters")
    try:
        at = datetime.fromisoformat(raw_at)
    except ValueError:
        raise ValueError(f"checked_at {raw_at!r} is not an ISO-8601 date-time") from None
    if at.tzinfo is None:
        raise ValueError(f"checked_at {raw_at!r} has no time zone (add Z or +00:00)")
    ok_text = raw_ok.lower()
    if ok_text not in ("true", "false"):
        raise ValueError(f"ok must be true or false, got {raw_ok!r}")
    latency: Decimal | None = None
    if raw_latency:
        try:
            latency = Decimal(raw_latency)
        except InvalidOperation:
            raise ValueError(f"latency_ms {raw_latency!r} is not a number") from None
        if not latency.is_finite() or latency < 0 or latency > LATENCY_MAX:
            raise ValueError(f"latency_ms must be between 0 and {LATENCY_MAX}, got {raw_latency!r}")
    return target, at, ok_text == "true", latency


def import_file(ctx: AppContext, actor: Actor, path: Path) -> ImportResult:
    authorize(ctx, actor, Permission.UPTIME_IMPORT, "uptime.import", target=str(path))
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}") from exc
    with handle:
        rows = parse(handle, str(path))
    return import_rows(ctx, actor, rows, source=str(path))


def import_rows(ctx: AppContext, actor: Actor, rows: list[tuple[int, str, datetime, bool, Decimal | None]],
                source: str) -> ImportResult:
    authorize(ctx, actor, Permission.UPTIME_IMPORT, "uptime.import", target=source)
    if not rows:
        raise InvalidInput(f"{source} has a header but no rows; nothing imported.")
    names = sorted({r[1] for r in rows})
    with ctx.session_factory() as session:
        slugs = set(session.scalars(select(Tenant.slug).where(
            Tenant.slug.in_({targets.tenant_of(n) or n for n in names}))))
        check_rows = [CheckRow(target, _tenant(target, slugs), targets.kind_of(target), at, ok, latency, None)
                      for _, target, at, ok, latency in rows]
        ids = raw.target_ids(session, check_rows)
        replaced = raw.replace_instants(session, check_rows, ids)
        raw.append(session, check_rows, ids)
        first, last = min(r.checked_at for r in check_rows), max(r.checked_at for r in check_rows)
        refresh_range(session, first, last + timedelta(microseconds=1))
        found = incidents.reconcile(session, names, ctx.settings.incident_threshold)
        raw.compact(session, floor_hour(datetime.now(UTC)) - raw.COMPACT_LAG)  # old history: straight to hour rows
        result = ImportResult(rows=len(check_rows), replaced=replaced, targets=len(names),
                              incidents_found=found.opened, first=first, last=last)
        audit.record(session, actor, "uptime.import", target=source,
                     detail={"rows": result.rows, "replaced": replaced, "targets": result.targets,
                             "first": first.isoformat(), "last": last.isoformat(),
                             "new_incidents": found.opened})
        session.commit()
    return result


def _tenant(target: str, slugs: set[str]) -> str | None:
    slug = targets.tenant_of(target) or target
    return slug if slug in slugs else None
