"""The subscription ledger: one row per (tenant, effective_date), each the tenant's whole
subscription from that day on. Writers here run inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from control_plane.db.models import SubscriptionChange

COLUMNS = ("tenant", "effective_date", "plan", "interval", "price", "seats", "discount_percent", "status")


@dataclass(frozen=True)
class SubscriptionState:
    tenant: str
    effective_date: date
    plan: str
    interval: str
    price: Decimal
    seats: int
    discount_percent: Decimal
    status: str

    def replace(self, **changes: object) -> SubscriptionState:
        values = {name: getattr(self, name) for name in COLUMNS}
        values.update(changes)
        return SubscriptionState(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class WriteResult:
    inserted: int
    replaced: int


def upsert_one(session: Session, state: SubscriptionState, source: str) -> None:
    """Record a state; a state already recorded for that tenant and day is replaced (the day nets out)."""
    values = {name: getattr(state, name) for name in COLUMNS}
    statement = insert(SubscriptionChange).values(**values, source=source)
    session.execute(statement.on_conflict_do_update(
        index_elements=["tenant", "effective_date"],
        set_={**{k: statement.excluded[k] for k in COLUMNS[2:]}, "source": source, "recorded_at": func.now()},
    ))


# Provisioning is a hot path: one statement with bind parameters, no statement building per call.
_START_ON_PLAN = text("""
    INSERT INTO control_plane.subscription_changes AS t
           (tenant, effective_date, plan, interval, price, seats, discount_percent, status, source)
    SELECT :tenant, :day, p.code, p.interval, p.list_price, 1, 0, 'active', :source
      FROM control_plane.plans AS p
     WHERE p.code = :plan
       AND COALESCE((SELECT s.status FROM control_plane.subscription_changes AS s
                      WHERE s.tenant = :tenant AND s.effective_date <= :day
                      ORDER BY s.effective_date DESC LIMIT 1), 'none') NOT IN ('active', 'past_due')
    ON CONFLICT (tenant, effective_date) DO UPDATE SET plan = excluded.plan, interval = excluded.interval,
           price = excluded.price, seats = excluded.seats, discount_percent = excluded.discount_percent,
           status = excluded.status, source = excluded.source, recorded_at = now()
""")


def start_on_plan(session: Session, tenant: str, plan_code: str, day: date, source: str) -> None:
    """The tenant starts `day` on its plan at list price, one seat, no discount, unless the state
    already in force bills it (active/past_due)."""
    session.execute(_START_ON_PLAN, {"tenant": tenant, "day": day, "plan": plan_code, "source": source})


def upsert_many(session: Session, states: Sequence[SubscriptionState], source: str) -> WriteResult:
    """Bulk write: COPY into a temporary table, then one INSERT … ON CONFLICT. Keys must be unique
    within `states` (the importer guarantees it)."""
    conn = session.connection().connection.driver_connection
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE _incoming_changes (tenant text, effective_date date, plan text, interval text, "
            "price numeric, seats integer, discount_percent numeric, status text) ON COMMIT DROP")
        with cur.copy("COPY _incoming_changes FROM STDIN") as copy:
            for s in states:
                copy.write_row((s.tenant, s.effective_date, s.plan, s.interval, s.price, s.seats,
                                s.discount_percent, s.status))
    written = upsert_staged(session, "_incoming_changes", source)
    session.execute(text("DROP TABLE _incoming_changes"))
    return written


def upsert_staged(session: Session, table: str, source: str) -> WriteResult:
    """One INSERT … ON CONFLICT of every row of the temporary table `table` (a constant name, with
    the ledger's columns; keys unique within it)."""
    # xmax = 0 marks a row this statement inserted rather than updated.
    inserted, replaced = session.execute(text(
        "WITH written AS ("
        " INSERT INTO control_plane.subscription_changes AS t"
        " (tenant, effective_date, plan, interval, price, seats, discount_percent, status, source)"
        f" SELECT tenant, effective_date, plan, interval, price, seats, discount_percent, status, :source FROM {table}"
        " ON CONFLICT (tenant, effective_date) DO UPDATE SET plan = excluded.plan,"
        " interval = excluded.interval, price = excluded.price, seats = excluded.seats,"
        " discount_percent = excluded.discount_percent, status = excluded.status,"
        " source = excluded.source, recorded_at = now()"
        " RETURNING (t.xmax = 0) AS inserted)"
        " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"),
        {"source": source}).one()
    return WriteResult(int(inserted), int(replaced))


def delete_tenants(session: Session, tenants: Iterable[str]) -> int:
    result = session.execute(delete(SubscriptionChange).where(SubscriptionChange.tenant.in_(list(tenants))))
    return int(result.rowcount or 0)


def state_on(session: Session, tenant: str, day: date) -> SubscriptionState | None:
    """The tenant's subscription in force on `day` (its latest change effective on or before it)."""
    row = session.scalars(
        select(SubscriptionChange)
        .where(SubscriptionChange.tenant == tenant, SubscriptionChange.effective_date <= day)
        .order_by(SubscriptionChange.effective_date.desc()).limit(1)
    ).first()
    return None if row is None else _state(row)


def latest_with_status(session: Session, tenant: str, before: date,
                       statuses: Iterable[str]) -> SubscriptionState | None:
    row = session.scalars(
        select(SubscriptionChange)
        .where(SubscriptionChange.tenant == tenant, SubscriptionChange.effective_date <= before,
               SubscriptionChange.status.in_(list(statuses)))
        .order_by(SubscriptionChange.effective_date.desc()).limit(1)
    ).first()
    return None if row is None else _state(row)


def history(session: Session, tenant: str) -> list[SubscriptionState]:
    rows = session.scalars(select(SubscriptionChange).where(SubscriptionChange.tenant == tenant)
                           .order_by(SubscriptionChange.effective_date))
    return [_state(r) for r in rows]


def version(session: Session) -> tuple[int, str]:
    """Changes whenever the ledger does (row count and latest write): part of dashboard cache keys."""
    count, latest = session.execute(
        select(func.count(), func.max(SubscriptionChange.recorded_at))).one()
    return int(count), latest.isoformat() if latest else ""


def _state(row: SubscriptionChange) -> SubscriptionState:
    return SubscriptionState(tenant=row.tenant, effective_date=row.effective_date, plan=row.plan,
                             interval=row.interval, price=row.price, seats=row.seats,
                             discount_percent=row.discount_percent, status=row.status)
