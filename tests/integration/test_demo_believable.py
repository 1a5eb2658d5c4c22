"""Demo data is believable whatever day it ends on (issue 18): a few tenants created on any one day
(never a crowd "created today"), month-to-date figures that are a few days' worth, NRR in the
100–130 % of docs/operations.md "Demo data", a few tenants (not dozens) missing the 99.9 % SLO over 30 days, and storage
that differs by tenant. Seeded through the real services with an explicit end moment."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, time
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from control_plane.auth.permissions import system_actor
from control_plane.db.models import SubscriptionChange, Tenant, UsageDaily
from control_plane.demo import revenue as demo_revenue
from control_plane.demo import seed as seed_module
from control_plane.revenue import reports, summary
from control_plane.uptime import views as uptime_views

# A month's 1st, its 5th, a 31st, a leap day, a Sunday.
END_DAYS = [date(2026, 12, 1), date(2026, 12, 5), date(2026, 12, 31), date(2028, 2, 29), date(2026, 6, 7)]
TENANTS, MONTHS = 30, 3


@pytest.mark.parametrize("today", END_DAYS, ids=str)
def test_seeded_demo_reads_as_a_real_company_on(ctx, founder, today):
    now = datetime.combine(today, time(10, 30), tzinfo=UTC)
    # A fixed seed per end day: the ranges below are about the seeder's design, and a random seed
    # made the run a lottery (one draw in a few dozen put 4 tenants under the SLO). Slugs taken by
    # schemas an earlier test left behind get the seeder's alternative slug.
    seed = int(today.strftime("%Y%m%d"))
    result = seed_module.seed_demo(ctx, system_actor("t"), tenants=TENANTS, months=MONTHS, seed=seed,
                                   accounts=False, now=now)
    slugs = {t.slug for t in result.tenants}

    with ctx.session_factory() as s:
        created = Counter(c.date() for c in s.scalars(select(Tenant.created_at).where(Tenant.slug.in_(slugs))))
        storage = dict(s.execute(select(UsageDaily.tenant_slug, UsageDaily.storage_bytes)
                                 .where(UsageDaily.day == today, UsageDaily.tenant_slug.in_(slugs))).all())
    assert max(created.values()) <= 4 and created[today] <= 3, created.most_common(3)
    assert max(created) <= today

    head = summary.headline(ctx, founder, today=today)
    assert head.to_date and head.mrr.now > 0
    with ctx.session_factory() as s:
        changes = Counter(s.scalars(select(SubscriptionChange.effective_date)))
    # Month-to-date figures hold a few days' changes: none piled up on today (or any one day).
    assert changes[today] <= 3 and max(changes.values()) <= 8 and max(changes) <= today, changes.most_common(3)

    table = uptime_views.uptime_table(ctx, founder, now=now)
    tenants = table[(table["scope"] == "tenant") & table["name"].isin(slugs)]
    missed = int((~tenants["slo_met"]).sum())
    assert 1 <= missed <= 3, tenants[["name", "uptime_30d", "budget_left_pct"]].head(5)

    assert len(storage) >= TENANTS * 0.9
    sizes = sorted(storage.values())
    assert len(set(sizes)) >= len(sizes) // 2 and sizes[-1] >= 3 * sizes[0], sizes  # not 184 KiB for all


@pytest.mark.parametrize("today", END_DAYS, ids=str)
def test_demo_nrr_is_in_the_documented_range_on(ctx, admin, founder, today):
    """The default demo seed (7) through the real revenue seeder and reports: NRR 100–130 %."""
    rng = random.Random(7)
    mix = [p for p, _ in seed_module.PLAN_MIX], [w for _, w in seed_module.PLAN_MIX]
    views = [SimpleNamespace(slug=f"nrr_{i}", plan=rng.choices(*mix)[0],
                             status="suspended" if rng.random() < seed_module.SUSPENDED_SHARE else "active")
             for i in range(2000)]
    demo_revenue.seed(ctx, views, 18, random.Random("7-revenue"), today=today)
    board = reports.dashboard(ctx, founder, today=today)
    nrr = board.monthly["nrr_pct"].iloc[-1]
    assert board.end == today.strftime("%Y-%m") and 100 <= nrr <= 130, nrr
