"""`billing import`: a subscription-change CSV checked row by row, then written in one bulk
upsert. Any bad row rejects the whole file (every problem reported with its line number)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.db.models import Plan
from control_plane.errors import InvalidInput
from control_plane.revenue import ledger
from control_plane.revenue.ledger import COLUMNS, SubscriptionState
from control_plane.revenue.money import INTERVALS, STATUSES
from control_plane.services import audit
from control_plane.services.authorization import authorize

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT = re.compile(r"^\d+$")
MAX_PRICE = Decimal("1e12")
MAX_SEATS = 2**31 - 1
# The one-line CLI error lists this many problems, then counts the rest.
SHOWN_PROBLEMS = 50


class ImportRejected(InvalidInput):
    """The file has bad rows; nothing was imported. `problems` holds (line, message) for each."""

    def __init__(self, source: str, problems: list[tuple[int, str]]) -> None:
        self.source, self.problems = source, problems
        shown = "; ".join(f"line {line}: {msg}" for line, msg in problems[:SHOWN_PROBLEMS])
        more = f"; … and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
        rows = "row" if len(problems) == 1 else "rows"
        super().__init__(f"{source}: {len(problems)} bad {rows}, nothing imported: {shown}{more}")


@dataclass(frozen=True)
class ImportResult:
    source: str
    rows: int
    inserted: int
    replaced: int
    tenants: int
    unknown_plans: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {"file": self.source, "rows": self.rows, "inserted": self.inserted, "replaced": self.replaced,
                "tenants": self.tenants, "unknown_plans": list(self.unknown_plans)}


def parse(lines: Iterable[str], source: str) -> list[SubscriptionState]:
    """Every row as a state, or ImportRejected naming every bad line (header is line 1)."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise InvalidInput(f"{source}: the file is empty; expected the header {','.join(COLUMNS)}.")
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise InvalidInput(f"{source}: line 1: missing column(s) {', '.join(missing)}; "
                           f"expected the header {','.join(COLUMNS)}.")
    where = [names.index(c) for c in COLUMNS]
    states: list[SubscriptionState] = []
    problems: list[tuple[int, str]] = []
    first_line: dict[tuple[str, date], int] = {}
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            problems.append((line, f"expected {len(names)} fields, found {len(row)}"))
            continue
        try:
            state = _state([row[i].strip() for i in where])
        except ValueError as exc:
            problems.append((line, str(exc)))
            continue
        key = (state.tenant, state.effective_date)
        if key in first_line:
            problems.append((line, f"tenant {state.tenant} already has a row for {state.effective_date} "
                                   f"on line {first_line[key]}"))
            continue
        first_line[key] = line
        states.append(state)
    if problems:
        raise ImportRejected(source, problems)
    if not states:
        raise InvalidInput(f"{source}: no rows to import below the header.")
    return states


def _state(cells: list[str]) -> SubscriptionState:
    tenant, effective, plan, interval, price, seats, discount, status = cells
    errors = []
    if not tenant or len(tenant) > 200:
        errors.append("tenant is empty" if not tenant else "tenant is longer than 200 characters")
    day = _date(effective, errors)
    if not plan or len(plan) > 100:
        errors.append("plan is empty" if not plan else "plan is longer than 100 characters")
    interval = interval.lower()
    if interval not in INTERVALS:
        errors.append(f"interval {interval!r} is not month or year")
    amount = _decimal("price", price, 6, Decimal(0), MAX_PRICE, errors)
    count = 0
    if not _INT.match(seats) or int(seats) > MAX_SEATS:
        errors.append(f"seats {seats!r} is not a whole number ≥ 0")
    else:
        count = int(seats)
    off = _decimal("discount_percent", discount or "0", 4, Decimal(0), Decimal(100), errors)
    status = status.lower()
    if status not in STATUSES:
        errors.append(f"status {status!r} is not one of {'|'.join(STATUSES)}")
    if errors:
        raise ValueError("; ".join(errors))
    assert day is not None and amount is not None and off is not None
    return SubscriptionState(tenant, day, plan, interval, amount, count, off, status)


def _date(text: str, errors: list[str]) -> date | None:
    try:
        if _DATE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    errors.append(f"effective_date {text!r} is not a date like 2025-03-31")
    return None


def _decimal(name: str, text: str, places: int, low: Decimal, high: Decimal,  # noqa: PLR0917
             errors: list[str]) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        errors.append(f"{name} {text!r} is not a decimal number")
        return None
    if not low <= value <= high:
        errors.append(f"{name} {text} is outside {low}–{high}")
        return None
    if -value.as_tuple().exponent > places and value != value.quantize(Decimal(1).scaleb(-places)):
        errors.append(f"{name} {text} has more than {places} decimals")
        return None
    return value


def import_states(ctx: AppContext, actor: Actor, states: list[SubscriptionState], source: str) -> ImportResult:
    """Write parsed rows (replacing rows with the same tenant and date) and audit it, in one transaction."""
    authorize(ctx, actor, Permission.BILLING_IMPORT, "billing.import", target=source)
    with ctx.session_factory() as session:
        known = set(session.scalars(select(Plan.code)))
        unknown = tuple(sorted({s.plan for s in states} - known))
        written = ledger.upsert_many(session, states, source="import")
        result = ImportResult(source, len(states), written.inserted, written.replaced,
                              len({s.tenant for s in states}), unknown)
        audit.record(session, actor, "billing.import", target=source, detail=result.as_dict())
        session.commit()
    return result


def import_file(ctx: AppContext, actor: Actor, path: Path) -> ImportResult:
    authorize(ctx, actor, Permission.BILLING_IMPORT, "billing.import", target=str(path))
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            states = parse(handle, str(path))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidInput(f"Cannot read {path}: {reason}.") from exc
    return import_states(ctx, actor, states, str(path))


def replace_histories(ctx: AppContext, actor: Actor, states: list[SubscriptionState], source: str) -> ImportResult:
    """Replace the whole history of every tenant named in `states` (demo seeding, re-syncs from a
    billing system), in one transaction with its audit entry."""
    authorize(ctx, actor, Permission.BILLING_IMPORT, "billing.replace", target=source)
    tenants = sorted({s.tenant for s in states})
    with ctx.session_factory() as session:
        removed = ledger.delete_tenants(session, tenants)
        written = ledger.upsert_many(session, states, source=source)
        result = ImportResult(source, len(states), written.inserted, written.replaced, len(tenants), ())
        audit.record(session, actor, "billing.replace", target=source,
                     detail={**result.as_dict(), "removed": removed})
        session.commit()
    return result
