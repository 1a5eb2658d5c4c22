"""A tenant's revisions on the catalog database: one transaction in one round trip when its version
is known (a run knows it from planning), two when it must be read first; a wrong belief costs a
round trip and applies nothing; the connection is left clean whatever happened, so a run's worker
thread reuses it for the next tenant (docs/migrations.md "Per tenant")."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import select

from control_plane.adapters.clusters import libpq_url
from control_plane.auth.permissions import Actor, Role
from control_plane.core import audit
from control_plane.db.models import AuditEntry
from control_plane.fleet import apply, queries, scripts, service
from control_plane.fleet.options import Options
from control_plane.fleet.run import Hooks
from tests.clock import FakeClock
from tests.factories import OPERATOR, make_tenant
from tests.integration.fleet_helpers import WITH_STRICT_TITLES, add_long_task, catalog_version, columns, raw


class CountingConnection(psycopg.Connection):
    """A real connection that counts what it sends: one execute() is one round trip."""

    sent = 0

    def execute(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        self.sent += 1
        return super().execute(*args, **kwargs)


def _catalog(ctx) -> CountingConnection:
    return CountingConnection.connect(libpq_url(ctx.catalog_url), autocommit=True)


def _migrations(ctx, slug: str) -> list[int]:
    with ctx.session_factory() as s:
        return [e.detail["revision"] for e in s.scalars(select(AuditEntry).where(
            AuditEntry.tenant_slug == slug, AuditEntry.action == "tenant.migrate").order_by(AuditEntry.id))]


def test_a_tenant_s_revisions_are_one_transaction_of_two_round_trips_with_their_audit_entries(ctx, new_slug):
    slug = new_slug("rt")
    make_tenant(ctx, slug, template_version=1)
    with _catalog(ctx) as conn:
        out = apply.migrate(ctx, OPERATOR, apply.Tenant(slug, "default", None), 3, connection=lambda: conn)
        assert (out.status, out.steps) == ("applied", ["+2", "+3"])
        # read under the lock, then +2 and +3, their audit entries and the commit together;
        # nothing after the commit
        assert conn.sent == 2
        assert conn.info.transaction_status == TransactionStatus.IDLE
        assert catalog_version(conn, slug) == 3
    assert _migrations(ctx, slug) == [2, 3]

    with _catalog(ctx) as conn:  # nothing to do: the read under the lock, then its rollback
        again = apply.migrate(ctx, OPERATOR, apply.Tenant(slug, "default", None), 3, connection=lambda: conn)
        assert (again.status, again.steps, conn.sent) == ("applied", [], 2)
        assert conn.info.transaction_status == TransactionStatus.IDLE
    assert _migrations(ctx, slug) == [2, 3]


def test_a_failed_revision_is_rolled_back_and_the_connection_serves_the_next_tenant(ctx, new_slug):
    bad, good = new_slug("rtbad"), new_slug("rtgood")
    for slug in (bad, good):
        make_tenant(ctx, slug)
    with raw(ctx) as conn:
        add_long_task(conn, bad)
    with _catalog(ctx) as conn:
        failed = apply.migrate(ctx, OPERATOR, apply.Tenant(bad, "default", None), 4, catalog=WITH_STRICT_TITLES,
                               connection=lambda: conn)
        assert failed.status == "failed" and "CheckViolation" in failed.error
        assert conn.info.transaction_status == TransactionStatus.IDLE
        applied = apply.migrate(ctx, OPERATOR, apply.Tenant(good, "default", None), 4, catalog=WITH_STRICT_TITLES,
                                connection=lambda: conn)
        assert applied.status == "applied", applied.error
    with raw(ctx) as conn:
        assert (catalog_version(conn, bad), catalog_version(conn, good)) == (3, 4)
        assert "title" in columns(conn, bad, "tasks")
    assert 4 not in _migrations(ctx, bad)  # no audit entry for what was rolled back
    assert _migrations(ctx, good)[-1:] == [4]


def test_a_known_version_is_one_round_trip_and_a_wrong_belief_applies_nothing_twice(ctx, new_slug):
    known, moved_on = new_slug("rtk"), new_slug("rtw")
    make_tenant(ctx, known, template_version=1)
    make_tenant(ctx, moved_on, template_version=1)
    apply.migrate(ctx, OPERATOR, apply.Tenant(moved_on, "default", None), 2)  # since "planning"
    with _catalog(ctx) as conn:
        out = apply.migrate(ctx, OPERATOR, apply.Tenant(known, "default", None, 1), 2, connection=lambda: conn)
        assert (out.status, out.from_version, out.steps, out.attempts, conn.sent) == ("applied", 1, ["+2"], 1, 1)
        conn.sent = 0
        late = apply.migrate(ctx, OPERATOR, apply.Tenant(moved_on, "default", None, 1), 3, connection=lambda: conn)
        assert (late.status, late.from_version, late.steps) == ("applied", 2, ["+3"])
        assert conn.sent == 4  # the refused check and its rollback, then the read and the change
        assert conn.info.transaction_status == TransactionStatus.IDLE
    assert _migrations(ctx, known) == [2]
    assert _migrations(ctx, moved_on) == [2, 3]  # revision 2 once


def test_values_in_the_scripts_are_literals_whatever_they_contain(ctx):
    hostile = "o'brien\\'); DROP TABLE control_plane.tenants; -- $cp$ $$"
    entry = audit.entry(Actor(hostile, Role.ADMIN), "tenant.migrate", tenant_slug="rt_hostile", target=hostile,
                        detail={"name": hostile, "nested": {"quote": "'\"", "dollar": "$cp$"}})
    with raw(ctx) as conn:
        conn.execute(scripts.catalog_follows("rt_hostile_absent", 2, [entry]))  # no such tenant: the update is a no-op
        row = conn.execute("SELECT actor, target, detail FROM control_plane.audit_log WHERE tenant_slug = 'rt_hostile' "
                           "ORDER BY id DESC LIMIT 1").fetchone()
        assert row == (hostile, hostile, {"name": hostile, "nested": {"quote": "'\"", "dollar": "$cp$"}})
        assert conn.execute("SELECT to_regclass('control_plane.tenants')").fetchone()[0] is not None
    with pytest.raises(ValueError, match="unexpected slug"):  # a `$` would end the guard's dollar-quoted body
        queries.expect_tenant("a$cp$b", "active", 1)


def test_results_are_written_in_batches_but_at_least_once_a_second(ctx, new_slug):
    slugs = sorted(new_slug("rs") for _ in range(3))
    for slug in slugs:
        make_tenant(ctx, slug, template_version=1)
    clock = FakeClock()
    started = service.start(ctx, OPERATOR, Options(target=2, waves=(100,), soak_seconds=0, concurrency=1,
                                                   tenants=tuple(slugs)))
    seen: list[str] = []

    def look(outcome: apply.Outcome) -> None:  # what the page would show right after each tenant
        with raw(ctx) as conn:
            seen.append(conn.execute("SELECT status FROM control_plane.migration_results WHERE run_id = %s "
                                     "AND tenant_slug = %s", (started.run_id, outcome.slug)).fetchone()[0])
        clock.advance(seconds=1)

    step = service.drive(ctx, OPERATOR, started.run_id, hooks=Hooks(clock=clock, after_tenant=look))
    assert step.status == "completed"
    assert seen == ["pending", "applied", "applied"]  # the first waited for the batch; then a second had passed
