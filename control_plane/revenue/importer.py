"""`billing import`: a subscription-change CSV checked row by row as it is read (strict UTF-8,
bounded, line numbers: control_plane.csv_input), each good row COPYed into a staging table, then
written in one bulk upsert, all in one transaction. Any bad row rejects the whole file (every
problem reported with its line number); a 50 MB file streams instead of sitting in memory."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path

from sqlalchemy.orm import Session

from control_plane import csv_input
from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.authorization import authorize
from control_plane.errors import InvalidInput
from control_plane.revenue import ledger, staging
from control_plane.revenue.ledger import COLUMNS, SubscriptionState
from control_plane.revenue.money import INTERVALS, STATUSES

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT = re.compile(r"[0-9]{1,10}")
# What the ledger's columns hold (models.SubscriptionChange): price numeric(18,6), seats int4, and
# the generated mrr_cents bigint = price × seats × (100 − discount) (÷ 12 for a year).
MAX_PRICE = Decimal("999999999999.999999")
MAX_SEATS = 2**31 - 1
MAX_MRR_CENTS = 2**63 - 1
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2099, 12, 31)
TEXT_MAX = {"tenant": 200, "plan": 100}
# The one-line CLI error lists this many problems, then counts the rest; the app's table shows
# up to PROBLEMS_KEPT of them.
SHOWN_PROBLEMS = 50
PROBLEMS_KEPT = 1000


class ImportRejected(InvalidInput):
    """The file has bad rows; nothing was imported. `problems` holds (line, message) for the
    first PROBLEMS_KEPT of them (by line), `count` how many there are."""

    def __init__(self, source: str, problems: list[tuple[int, str]], count: int | None = None) -> None:
        self.source, self.problems = source, sorted(problems)[:PROBLEMS_KEPT]
        self.count = len(problems) if count is None else count
        shown = "; ".join(f"line {line}: {msg}" for line, msg in self.problems[:SHOWN_PROBLEMS])
        more = f"; … and {self.count - SHOWN_PROBLEMS} more" if self.count > SHOWN_PROBLEMS else ""
        rows = "row" if self.count == 1 else "rows"
        super().__init__(f"{source}: {self.count} bad {rows}, nothing imported: {shown}{more}")


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


class _Problems:
    def __init__(self) -> None:
        self.count = 0
        self.kept: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.kept) < PROBLEMS_KEPT:
            self.kept.append((line, message))


def _states(records: Iterator[tuple[int, list[str]]], source: str,
            problems: _Problems) -> Iterator[tuple[int, SubscriptionState]]:
    """(line, state) of every good row; bad rows go to `problems`. Good rows keep coming after a
    bad one, so duplicates among them are reported with the rest."""
    header = next(records, None)
    if header is None:
        raise InvalidInput(f"{source}: line 1: the file is empty; expected the header {','.join(COLUMNS)}.")
    names = [h.strip().lower() for h in header[1]]  # a BOM was taken off by the reader
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise InvalidInput(f"{source}: line 1: missing column(s) {', '.join(missing)}; "
                           f"expected the header {','.join(COLUMNS)}.")
    where = [names.index(c) for c in COLUMNS]
    for line, row in records:
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            problems.add(line, f"expected {len(names)} fields, found {len(row)}")
            continue
        try:
            yield line, _state([row[i].strip() for i in where])
        except ValueError as exc:
            problems.add(line, str(exc))


def _state(cells: list[str]) -> SubscriptionState:
    if any("\0" in cell for cell in cells):
        raise ValueError("contains a NUL character")
    tenant, effective, plan, interval, price, seats, discount, status = cells
    errors: list[str] = []
    for name, value in (("tenant", tenant), ("plan", plan)):
        if not value or len(value) > TEXT_MAX[name]:
            errors.append(f"{name} is empty" if not value else f"{name} is longer than {TEXT_MAX[name]} characters")
    day = _date(effective, errors)
    interval = interval.lower()
    if interval not in INTERVALS:
        errors.append(f"interval {_short(interval)} is not month or year")
    amount = _decimal("price", price, 6, Decimal(0), MAX_PRICE, errors)
    count = 0
    if not _INT.fullmatch(seats) or int(seats) > MAX_SEATS:
        errors.append(f"seats {_short(seats)} is not a whole number from 0 to {MAX_SEATS}")
    else:
        count = int(seats)
    off = _decimal("discount_percent", discount or "0", 4, Decimal(0), Decimal(100), errors)
    status = status.lower()
    if status not in STATUSES:
        errors.append(f"status {_short(status)} is not one of {'|'.join(STATUSES)}")
    if amount is not None and off is not None and _mrr_cents(amount, count, off, interval) > MAX_MRR_CENTS:
        errors.append(f"price × seats is too large: the monthly amount would exceed "
                      f"{Decimal(MAX_MRR_CENTS).scaleb(-2):,} (what the ledger can store)")
    if errors:
        raise ValueError("; ".join(errors))
    assert day is not None and amount is not None and off is not None
    return SubscriptionState(tenant, day, plan, interval, amount, count, off, status)


def _mrr_cents(price: Decimal, seats: int, discount: Decimal, interval: str) -> Decimal:
    with localcontext() as exact:
        exact.prec = 60  # 12 + 6 price digits, 10 seat digits, 7 discount digits: well within
        return price * seats * (100 - discount) / (12 if interval == "year" else 1)


def _date(text: str, errors: list[str]) -> date | None:
    try:
        day = date.fromisoformat(text) if _DATE.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        errors.append(f"effective_date {_short(text)} is not a date like 2025-03-31")
    elif not FIRST_DATE <= day <= LAST_DATE:
        errors.append(f"effective_date {text} is outside {FIRST_DATE} to {LAST_DATE}")
        day = None
    return day


def _decimal(name: str, text: str, places: int, low: Decimal, high: Decimal,  # noqa: PLR0917
             errors: list[str]) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        errors.append(f"{name} {_short(text)} is not a decimal number")
        return None
    if not low <= value <= high:
        errors.append(f"{name} {_short(text)[1:-1]} is outside {low}–{high}")
        return None
    if -value.as_tuple().exponent > places and value != value.quantize(Decimal(1).scaleb(-places)):
        errors.append(f"{name} {_short(text)[1:-1]} has more than {places} decimals")
        return None
    return value


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:60] + "…")


def import_file(ctx: AppContext, actor: Actor, path: Path, *, source: str | None = None) -> ImportResult:
    """Stream the file into a staging table, check it as a whole, then upsert it: one transaction.
    The CLI passes the file it was given; the app stages an upload in a file and passes its name as
    `source` (what messages and the audit entry call it)."""
    source = source or str(path)
    authorize(ctx, actor, Permission.BILLING_IMPORT, "billing.import", target=source)
    problems = _Problems()
    with ctx.session_factory() as session:
        staging.create(session)
        staging.copy(session, _states(csv_input.rows(path, source), source, problems))
        repeated, pairs = staging.duplicates(session, PROBLEMS_KEPT)
        for line, tenant, day, first in pairs:
            problems.kept.append((line, f"tenant {tenant} already has a row for {day} on line {first}"))
        if problems.count or repeated:
            raise ImportRejected(source, problems.kept, problems.count + repeated)  # rolls back
        rows, tenants, unknown = staging.totals(session)
        if not rows:
            raise InvalidInput(f"{source}: line 1: no rows to import below the header.")
        written = ledger.upsert_staged(session, staging.STAGE, "import")
        return _audited(session, actor, ImportResult(source, rows, written.inserted, written.replaced,
                                                     tenants, unknown))


def _audited(session: Session, actor: Actor, result: ImportResult) -> ImportResult:
    audit.record(session, actor, "billing.import", target=result.source, detail=result.as_dict())
    session.commit()
    return result


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
