"""Demo revenue seeding: plausible histories that end where the catalog says each tenant is."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

from sqlalchemy import func, select

from control_plane.db.models import AuditEntry, SubscriptionChange
from control_plane.demo import revenue as demo_revenue
from control_plane.revenue import ledger, reports
from control_plane.services import tenants
from tests.factories import make_tenant

TODAY = date(2025, 6, 15)


def test_seed_histories_end_in_the_catalog_state(ctx, admin, founder, new_slug):
    made = [make_tenant(ctx, new_slug(), plan=plan) for plan in ("starter", "team", "business", "enterprise", "free")]
    tenants.suspend(ctx, admin, made[1].slug, "demo")
    views = [tenants.show(ctx, admin, t.slug) for t in made]
    # Many synthetic tenants too: seeding needs only slug, plan and status.
    views += [replace(views[2], slug=f"synthetic_{i}", plan=("starter", "team", "business")[i % 3])
              for i in range(120)]
    demo_revenue.seed(ctx, views, 18, random.Random(3), today=TODAY)

    with ctx.session_factory() as session:
        for view in views:
            history = ledger.history(session, view.slug)
            assert history, view.slug
            last = history[-1]
            assert last.plan == view.plan
            assert last.status == ("paused" if view.status == "suspended" else "active")
            assert history[0].effective_date >= date(2024, 1, 1) and last.effective_date <= TODAY
        formers = session.scalar(select(func.count(func.distinct(SubscriptionChange.tenant)))
                                 .where(SubscriptionChange.tenant.like("demo_former_%")))
        assert formers == len(views) // demo_revenue.FORMER_SHARE
        total = session.scalar(select(func.count()).select_from(SubscriptionChange))
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "billing.replace")) == 1

    rows = reports.mrr_table(ctx, founder, today=TODAY)
    assert len(rows) == 18
    kinds = {k for r in rows for k in ("new", "expansion", "contraction", "churn", "reactivation") if r[k]}
    assert kinds == {"new", "expansion", "contraction", "churn", "reactivation"}

    # Seeding again replaces the histories: no duplicates, same size for the same random seed.
    demo_revenue.seed(ctx, views, 18, random.Random(3), today=TODAY)
    with ctx.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SubscriptionChange)) == total
