"""Ledger entries written by lifecycle actions (plan change, suspend, resume, provision).

Called by control_plane.services.tenants inside the action's own transaction, so the
subscription change and the tenant change commit or roll back together. Each writes the tenant's
whole state effective that day (UTC); a second action the same day replaces the first, so a day
nets out to its last state. Seats, discount and billing status carry over from the state in force.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from control_plane.db.models import Plan, Tenant
from control_plane.revenue import ledger
from control_plane.revenue.ledger import SubscriptionState

SOURCE = "app"
# Billing states a resume returns to; a tenant paused from anything else (or never billed) resumes active.
_RESUMABLE = ("trial", "active", "past_due")


def on_provision(session: Session, tenant: Tenant, at: datetime) -> None:
    """A new tenant starts its subscription on its plan, unless imported history already bills it."""
    ledger.start_on_plan(session, tenant.slug, tenant.plan_code, _day(at), SOURCE)


def on_plan_change(session: Session, tenant: Tenant, old_plan: str, new_plan: str, at: datetime) -> None:
    """A plan change made in the app becomes a subscription change effective that day."""
    day = _day(at)
    current = ledger.state_on(session, tenant.slug, day)
    status = current.status if current else ("paused" if tenant.status == "suspended" else "active")
    ledger.upsert_one(session, _on_plan(session, tenant.slug, new_plan, day, current, status=status), SOURCE)


def on_suspend(session: Session, tenant: Tenant, at: datetime) -> None:
    """A suspension pauses billing from that day."""
    day = _day(at)
    current = ledger.state_on(session, tenant.slug, day)
    state = (current.replace(effective_date=day, status="paused") if current
             else _on_plan(session, tenant.slug, tenant.plan_code, day, None, status="paused"))
    ledger.upsert_one(session, state, SOURCE)


def on_archive(session: Session, tenant: Tenant, at: datetime) -> None:
    """An archived tenant has left: its subscription is canceled from that day."""
    day = _day(at)
    current = ledger.state_on(session, tenant.slug, day)
    state = (current.replace(effective_date=day, status="canceled") if current
             else _on_plan(session, tenant.slug, tenant.plan_code, day, None, "canceled"))
    ledger.upsert_one(session, state, SOURCE)


def on_restore(session: Session, tenant: Tenant, at: datetime) -> None:
    """A restored tenant bills again, in the status it had before it was archived."""
    on_resume(session, tenant, at)


def on_resume(session: Session, tenant: Tenant, at: datetime) -> None:
    """A resume restarts billing from that day, in the billing status it had before the pause."""
    day = _day(at)
    current = ledger.state_on(session, tenant.slug, day)
    if current is None:
        ledger.upsert_one(session, _on_plan(session, tenant.slug, tenant.plan_code, day, None, status="active"), SOURCE)
        return
    before = ledger.latest_with_status(session, tenant.slug, day, _RESUMABLE)
    ledger.upsert_one(session, current.replace(effective_date=day, status=before.status if before else "active"),
                      SOURCE)


def _on_plan(session: Session, slug: str, plan_code: str, day: date, current: SubscriptionState | None,
             *, status: str) -> SubscriptionState:
    """The state on `plan_code` at its list price, keeping seats and discount from `current`."""
    plan = session.get(Plan, plan_code)
    price = plan.list_price if plan else Decimal(0)
    interval = plan.interval if plan else "month"
    seats = current.seats if current else 1
    discount = current.discount_percent if current else Decimal(0)
    return SubscriptionState(slug, day, plan_code, interval, price, seats, discount, status)


def _day(at: datetime) -> date:
    return (at.astimezone(UTC) if at.tzinfo else at).date()
