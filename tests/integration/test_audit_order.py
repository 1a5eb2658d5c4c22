"""The audit log reads in the order changes were committed: each entry's `before` is the previous
entry's `after` for one tenant, even when the writing transactions started in another order."""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from control_plane.core import audit_queries
from control_plane.core.audit_queries import AuditFilter
from control_plane.db.models import AuditEntry
from control_plane.services import tenants
from tests.factories import make_tenant

PLANS = ("starter", "team", "business")


def _chain_breaks(frame) -> int:
    changes = frame[frame["action"] == "tenant.set_plan"].iloc[::-1]  # oldest first
    plans = [(b["plan"], a["plan"]) for b, a in zip(changes["before"].map(_load), changes["after"].map(_load),
                                                       strict=True)]
    return sum(1 for (_, after), (before, _) in itertools.pairwise(plans) if after != before)


def _load(cell: str) -> dict:
    return json.loads(cell)


def test_entries_are_in_commit_order_even_when_transactions_started_in_another(ctx, admin, founder, new_slug):
    slug = new_slug("ord")
    make_tenant(ctx, slug, plan="starter")
    tenants.set_plan(ctx, admin, slug, "team")
    tenants.set_plan(ctx, admin, slug, "business")
    # The second change's transaction began first (its `at` is earlier) but committed last.
    with ctx.session_factory() as session:
        first, second = session.scalars(
            AuditEntry.__table__.select().with_only_columns(AuditEntry.id)
            .where(AuditEntry.action == "tenant.set_plan").order_by(AuditEntry.id)).all()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        session.execute(update(AuditEntry).where(AuditEntry.id == first).values(at=start + timedelta(seconds=1)))
        session.execute(update(AuditEntry).where(AuditEntry.id == second).values(at=start))
        session.commit()

    frame = audit_queries.search(ctx, founder, AuditFilter(tenant_slug=slug))
    assert list(frame["action"][:2]) == ["tenant.set_plan", "tenant.set_plan"]
    assert _load(frame["after"][0])["plan"] == "business" and _load(frame["after"][1])["plan"] == "team"
    assert _chain_breaks(frame) == 0


def test_concurrent_changes_chain_before_to_after(ctx, admin, founder, new_slug):
    slug = new_slug("ord")
    make_tenant(ctx, slug, plan="starter")

    def change(worker: int) -> None:
        for i in range(12):
            tenants.set_plan(ctx, admin, slug, PLANS[(worker + i) % len(PLANS)])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(change, range(8)))

    frame = audit_queries.search(ctx, founder, AuditFilter(tenant_slug=slug, outcomes=("ok",)))
    assert (frame["action"] == "tenant.set_plan").sum() >= 2
    assert _chain_breaks(frame) == 0


def test_text_filter_takes_wildcards_literally(ctx, admin, founder, new_slug):
    slug = new_slug("ord")
    make_tenant(ctx, slug)
    tenants.suspend(ctx, admin, slug, "unpaid: 100% overdue")
    assert len(audit_queries.search(ctx, founder, AuditFilter(text="100% over"))) == 1
    assert audit_queries.search(ctx, founder, AuditFilter(text="unpaid%overdue")).empty
    assert audit_queries.search(ctx, founder, AuditFilter(text="10_%")).empty
