"""Revenue read models: the ledger reduced to month-end snapshots in SQL, the engine on top, and
the results in the shapes the CLI and the Revenue page show (money as Decimal with 2 decimals)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import ARRAY, Text, any_, bindparam, func, select

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.db.models import SubscriptionChange, Tenant
from control_plane.errors import InvalidInput
from control_plane.revenue import ledger, months
from control_plane.revenue.engine import MrrGrid, Snapshots
from control_plane.revenue.money import cents_to_decimal

MRR_COLUMNS = ["month", "mrr", "new", "expansion", "contraction", "churn", "reactivation", "net_new",
               "customers", "arpa"]
# The page's monthly table: the CLI's columns first, then ARR and the rates.
TABLE_COLUMNS = [*MRR_COLUMNS, "arr", "churned_customers", "logo_churn_pct", "gross_revenue_churn_pct",
                 "net_revenue_churn_pct", "nrr_pct", "grr_pct"]
MONEY_COLUMNS = {"mrr", "new", "expansion", "contraction", "churn", "reactivation", "net_new", "arpa", "arr",
                 "previous_mrr", "change", "cohort_mrr"}

# The last state of every (tenant, month) with changes; months as year × 12 + month − 1. Byte order
# ("C") sorts much faster than the locale's collation, and any consistent order will do here.
_SNAPSHOTS = """
SELECT DISTINCT ON (tenant COLLATE "C", month) tenant, month, plan, mrr_cents
FROM (SELECT tenant, effective_date, plan, mrr_cents,
             (extract(year FROM effective_date) * 12 + extract(month FROM effective_date) - 1)::int AS month
      FROM control_plane.subscription_changes) AS changes
ORDER BY tenant COLLATE "C", month, effective_date DESC
"""


def load_snapshots(ctx: AppContext) -> Snapshots:
    raw = ctx.engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute(_SNAPSHOTS)
            rows = cur.fetchall()
        raw.commit()
    finally:
        raw.close()
    return Snapshots.from_rows(rows)


def current_month(today: date | None = None) -> int:
    return months.index(today or datetime.now(UTC).date())


@dataclass(frozen=True)
class MonthRange:
    start: int
    end: int


def build_grid(snaps: Snapshots, start: str | None, end: str | None, today: date | None) -> tuple[MrrGrid, MonthRange]:
    """The grid over all history (never limited by the range), widened to cover the asked range;
    the range defaults to first change … max(this month, last change)."""
    first = months.parse(start, "--from") if start else None
    last = months.parse(end, "--to") if end else None
    if first is not None and last is not None and first > last:
        raise InvalidInput(f"--from {start} is after --to {end}.")
    now = current_month(today)
    grid = MrrGrid.build(snaps, last_month=max(now, last) if last is not None else now, first_month=first)
    return grid, MonthRange(first if first is not None else grid.first_month,
                            last if last is not None else grid.last_month)


def mrr_table(ctx: AppContext, actor: Actor, start: str | None = None, end: str | None = None, *,
              today: date | None = None) -> list[dict[str, Any]]:
    """`billing mrr`: one dict per month in the range, the columns of docs/revenue.md "The `billing mrr` table",
    amounts as Decimal."""
    authorize(ctx, actor, Permission.REVENUE_READ, "revenue.read")
    snaps = load_snapshots(ctx)
    if len(snaps.month) == 0 and start is None and end is None:
        return []
    grid, span = build_grid(snaps, start, end, today)
    frame = _rows_in(grid.monthly(), grid, span)
    return [{c: _cell(c, row[c]) for c in MRR_COLUMNS} for row in frame.to_dict("records")]


@dataclass(frozen=True)
class Dashboard:
    all_months: list[str]
    start: str
    end: str
    all_plans: list[str]
    plans: tuple[str, ...]
    monthly: pd.DataFrame
    by_plan: pd.DataFrame
    cohorts: pd.DataFrame
    movers: pd.DataFrame
    top_tenants: pd.DataFrame

    @property
    def empty(self) -> bool:
        return not self.all_months


def dashboard(ctx: AppContext, actor: Actor, start: str | None = None, end: str | None = None,
              plans: Sequence[str] = (), *, today: date | None = None) -> Dashboard:
    """Every series of the Revenue page for a month range and an optional plan filter."""
    authorize(ctx, actor, Permission.REVENUE_READ, "revenue.read")
    snaps = load_snapshots(ctx)
    if len(snaps.month) == 0:
        empty = pd.DataFrame()
        return Dashboard([], "", "", [], tuple(plans), empty, empty, empty, empty, empty)
    full, span = build_grid(snaps, start, end, today)
    all_months = full.month_labels()
    unknown = set(plans) - set(full.plans)
    if unknown:
        raise InvalidInput(f"Unknown plan(s) {', '.join(sorted(unknown))}; known: {', '.join(full.plans)}.")
    grid = full.only_plans(plans) if plans else full
    in_range = [m for m in all_months if months.label(span.start) <= m <= months.label(span.end)]
    monthly = _rows_in(grid.monthly(), grid, span)
    by_plan = grid.by_plan()
    by_plan = by_plan[by_plan["month"].isin(in_range)].reset_index(drop=True)
    cohorts = grid.cohorts()
    if len(cohorts):
        end_age = cohorts["cohort"].map(lambda c: span.end - months.parse(c))
        cohorts = cohorts[cohorts["cohort"].isin(in_range) & (cohorts["age"] <= end_age)].reset_index(drop=True)
    tenants_now = grid.tenant_month(span.end)
    provisioned = _provisioned(ctx, tenants_now["tenant"].tolist())
    tenants_now["provisioned"] = tenants_now["tenant"].isin(provisioned)
    movers = tenants_now[tenants_now["change"] != 0].copy()
    movers = movers.iloc[movers["change"].abs().argsort()[::-1]].reset_index(drop=True)
    top = tenants_now[tenants_now["mrr"] > 0].sort_values(["mrr", "tenant"], ascending=[False, True])
    return Dashboard(
        all_months=all_months, start=months.label(span.start), end=months.label(span.end),
        all_plans=list(full.plans), plans=tuple(plans),
        monthly=_decimal_money(monthly), by_plan=_decimal_money(by_plan), cohorts=_decimal_money(cohorts),
        movers=_decimal_money(movers), top_tenants=_decimal_money(top.reset_index(drop=True)),
    )


@dataclass(frozen=True)
class LedgerSpan:
    """What the page's filters offer, without computing anything: the months from the first change
    to max(this month, the last change), and every plan named in the ledger."""

    months: list[str]
    plans: list[str]


def ledger_span(ctx: AppContext, actor: Actor, *, today: date | None = None) -> LedgerSpan:
    authorize(ctx, actor, Permission.REVENUE_READ, "revenue.read")
    with ctx.session_factory() as session:
        first, last = session.execute(select(func.min(SubscriptionChange.effective_date),
                                             func.max(SubscriptionChange.effective_date))).one()
        plans = list(session.scalars(select(SubscriptionChange.plan).distinct().order_by(SubscriptionChange.plan)))
    if first is None:
        return LedgerSpan([], [])
    end = max(current_month(today), months.index(last))
    return LedgerSpan([months.label(m) for m in range(months.index(first), end + 1)], plans)


def ledger_version(ctx: AppContext) -> tuple[int, str]:
    with ctx.session_factory() as session:
        return ledger.version(session)


def _rows_in(frame: pd.DataFrame, grid: MrrGrid, span: MonthRange) -> pd.DataFrame:
    lo, hi = span.start - grid.first_month, span.end - grid.first_month
    return frame.iloc[max(lo, 0):hi + 1].reset_index(drop=True)


def _provisioned(ctx: AppContext, slugs: list[str]) -> set[str]:
    if not slugs:
        return set()
    with ctx.session_factory() as session:
        # One array parameter, not thousands of bound values.
        wanted = bindparam("slugs", slugs, type_=ARRAY(Text))
        return set(session.scalars(select(Tenant.slug).where(Tenant.slug == any_(wanted))))


def _cell(column: str, value: Any) -> Any:
    return cents_to_decimal(int(value)) if column in MONEY_COLUMNS else int(value) if column == "customers" else value


def _decimal_money(frame: pd.DataFrame) -> pd.DataFrame:
    """Integer cents -> exact Decimal amounts (2 decimals) for tables and CSV downloads."""
    out = frame.copy()
    for column in out.columns:
        if column in MONEY_COLUMNS:
            out[column] = [cents_to_decimal(int(v)) for v in out[column]]
    return out


def current_mrr_row(ctx: AppContext, actor: Actor, *, today: date | None = None) -> dict[str, Any] | None:
    """This month's `billing mrr` row so far; None when the ledger is empty."""
    authorize(ctx, actor, Permission.REVENUE_READ, "revenue.read")
    snaps = load_snapshots(ctx)
    if len(snaps.month) == 0:
        return None
    month = months.label(current_month(today))
    grid, span = build_grid(snaps, month, month, today)
    row = _rows_in(grid.monthly(), grid, span).to_dict("records")[0]
    return {c: _cell(c, row[c]) for c in MRR_COLUMNS}
