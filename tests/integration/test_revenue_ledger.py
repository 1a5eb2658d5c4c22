"""The ledger in PostgreSQL: the stored per-state MRR, the snapshot query, and the entries that
lifecycle actions write in their own transaction."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from control_plane.auth.permissions import Actor, Role
from control_plane.db.models import AuditEntry, Plan, SubscriptionChange, Tenant
from control_plane.errors import Forbidden
from control_plane.revenue import hooks, ledger, reports, summary
from control_plane.revenue.engine import MrrGrid, snapshots_from_states
from control_plane.revenue.ledger import SubscriptionState
from control_plane.revenue.money import STATUSES, state_mrr_cents
from control_plane.services import tenants
from tests.factories import make_tenant


def _random_states(rng: random.Random, n: int) -> list[SubscriptionState]:
    out, seen = [], set()
    edge_prices = [Decimal("0.005"), Decimal("0.06"), Decimal("10.005"), Decimal("1000"), Decimal("999999.999999")]
    while len(out) < n:
        key = (f"r{rng.randrange(60)}", date.fromordinal(date(2024, 1, 1).toordinal() + rng.randrange(700)))
        if key in seen:
            continue
        seen.add(key)
        price = rng.choice(edge_prices) if rng.random() < 0.2 else Decimal(rng.randrange(0, 10**8)).scaleb(-4)
        discount = rng.choice([Decimal(0), Decimal(100), Decimal("33.3333"),
                               Decimal(rng.randrange(0, 10001)).scaleb(-2)])
        out.append(SubscriptionState(key[0], key[1], rng.choice(["team", "starter", "legacy"]),
                                     rng.choice(["month", "year"]), price, rng.randrange(0, 500), discount,
                                     rng.choice(STATUSES)))
    return out


def test_stored_mrr_cents_and_snapshots_match_the_python_definition(ctx):
    states = _random_states(random.Random(7), 1500)
    with ctx.session_factory() as session:
        written = ledger.upsert_many(session, states, source="test")
        session.commit()
    assert (written.inserted, written.replaced) == (1500, 0)
    with ctx.session_factory() as session:
        stored = {(r.tenant, r.effective_date): r.mrr_cents for r in session.scalars(select(SubscriptionChange))}
    for s in states:
        assert stored[(s.tenant, s.effective_date)] == state_mrr_cents(
            s.price, s.seats, s.discount_percent, s.interval, s.status), s
    # The SQL month-end reduction gives the same grid as the Python one.
    from_sql = MrrGrid.build(reports.load_snapshots(ctx), last_month=2025 * 12 + 11)
    from_python = MrrGrid.build(snapshots_from_states(states), last_month=2025 * 12 + 11)
    assert (from_sql.mrr == from_python.mrr).all()
    assert from_sql.monthly()["mrr"].tolist() == from_python.monthly()["mrr"].tolist()


def _ledger_of(ctx, slug: str) -> list[SubscriptionState]:
    with ctx.session_factory() as session:
        return ledger.history(session, slug)


def test_lifecycle_actions_write_the_subscription_in_the_same_transaction(ctx, admin, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug, plan="team")
    today = datetime.now(UTC).date()
    [start] = _ledger_of(ctx, slug)
    assert (start.effective_date, start.plan, start.status, start.seats) == (today, "team", "active", 1)
    with ctx.session_factory() as session:
        team = session.get(Plan, "team")
    assert start.price == team.list_price and start.interval == team.interval

    # Same day: plan change, suspension and resume each replace the day's state (the day nets out).
    tenants.set_plan(ctx, admin, slug, "business")
    [after_plan] = _ledger_of(ctx, slug)
    assert after_plan.plan == "business" and after_plan.status == "active"
    tenants.suspend(ctx, admin, slug, "unpaid invoice")
    assert [s.status for s in _ledger_of(ctx, slug)] == ["paused"]
    tenants.resume(ctx, admin, slug)
    [resumed] = _ledger_of(ctx, slug)
    assert (resumed.status, resumed.plan) == ("active", "business")


def test_hooks_on_different_days_keep_seats_discount_and_billing_status(ctx, new_slug):
    slug = new_slug()
    day = lambda d: datetime.fromisoformat(d).replace(tzinfo=UTC)  # noqa: E731
    with ctx.session_factory() as session:
        ledger.upsert_one(session, SubscriptionState(slug, date(2025, 1, 1), "team", "month", Decimal("20"), 7,
                                                     Decimal("10"), "past_due"), "import")
        tenant = Tenant(slug=slug, name="X", plan_code="team", status="active", cluster_name="default")
        hooks.on_plan_change(session, tenant, "team", "starter", day("2025-02-03T23:30:00"))
        hooks.on_suspend(session, tenant, day("2025-03-10T10:00:00"))
        hooks.on_plan_change(session, tenant, "starter", "business", day("2025-03-20T10:00:00"))
        hooks.on_resume(session, tenant, day("2025-04-01T00:00:00"))
        session.commit()
    states = _ledger_of(ctx, slug)
    assert [(s.effective_date.isoformat(), s.plan, s.status, s.seats, s.discount_percent) for s in states] == [
        ("2025-01-01", "team", "past_due", 7, Decimal("10")),
        ("2025-02-03", "starter", "past_due", 7, Decimal("10")),
        ("2025-03-10", "starter", "paused", 7, Decimal("10")),
        ("2025-03-20", "business", "paused", 7, Decimal("10")),   # a plan change while paused stays paused
        ("2025-04-01", "business", "past_due", 7, Decimal("10")),  # resume returns to the status before the pause
    ]


def test_a_failed_action_leaves_no_ledger_entry(ctx, new_slug):
    slug = new_slug()

    def crash(step: str) -> None:
        if step == "before_commit":
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError):
        tenants.provision(ctx, Actor("ops", Role.ADMIN), slug, "Crashy", "team", fault=crash)
    assert _ledger_of(ctx, slug) == []


def test_provisioning_a_tenant_already_billed_by_import_keeps_the_imported_state(ctx, new_slug):
    slug = new_slug()
    with ctx.session_factory() as session:
        ledger.upsert_one(session, SubscriptionState(slug, date(2024, 5, 1), "enterprise", "year",
                                                     Decimal("12000"), 1, Decimal(0), "active"), "import")
        session.commit()
    make_tenant(ctx, slug, plan="team")
    assert [s.effective_date for s in _ledger_of(ctx, slug)] == [date(2024, 5, 1)]


def test_headline_is_this_month_to_date_and_needs_revenue_read(ctx, founder, support):
    today = date(2026, 12, 5)
    assert summary.headline(ctx, founder, today=today).empty
    with ctx.session_factory() as session:
        ledger.upsert_many(session, [
            SubscriptionState("acme", date(2024, 1, 1), "team", "month", Decimal("99.5"), 2, Decimal(0), "active"),
            SubscriptionState("bolt", today, "team", "year", Decimal("1200"), 1, Decimal(0), "active"),
            # dated later this month: not in force yet, so not in the month-to-date figures
            SubscriptionState("later", date(2026, 12, 20), "team", "month", Decimal("50"), 1, Decimal(0), "active"),
        ], source="test")
        session.commit()
    head = summary.headline(ctx, founder, today=today)
    assert (head.month, head.to_date, head.period.label(), head.month_ago.label()) == (
        "2026-12", True, "Dec 1–5", "Nov 1–5")
    assert (head.mrr.now, head.arr, head.customers.now, head.net_new.now) == (
        Decimal("299.00"), Decimal("3588.00"), 2, Decimal("100.00"))
    assert (head.mrr.month_ago, head.mrr.mom, head.mrr.mom_pct) == (Decimal("199.00"), Decimal("100.00"), 50.3)
    assert head.net_new.month_ago == Decimal("0.00") and head.customers.yoy == 1
    with pytest.raises(Forbidden):
        summary.headline(ctx, support)
    with ctx.session_factory() as session:
        denied = session.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
    assert [d.action for d in denied] == ["revenue.read"]
