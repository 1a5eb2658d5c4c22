"""The reconcile job checks every tenant schema against its template version: a hand-made change
is reported once as an alert in the app, an unreachable cluster does not hide the others, nothing
is repaired (docs/migrations.md "Drift")."""

from __future__ import annotations

from datetime import UTC, datetime

from psycopg import sql
from sqlalchemy import select

from control_plane.db.models import Alert, Tenant
from control_plane.fleet import drift
from control_plane.scheduler.context import JobContext
from control_plane.services.clusters import add_cluster
from jobs import reconcile
from tests.factories import OPERATOR, make_tenant
from tests.integration.fleet_helpers import columns, raw


def test_a_hand_made_change_is_one_alert_and_stays(ctx, new_slug):
    fine, changed = new_slug("sd"), new_slug("sd")
    make_tenant(ctx, fine)
    make_tenant(ctx, changed, template_version=2)
    with raw(ctx) as conn:
        conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN title DROP NOT NULL").format(
            sql.Identifier(f"tenant_{changed}", "tasks")))
    now = datetime.now(UTC)
    summary = reconcile.run(JobContext(app=ctx, now=lambda: now))
    assert "tenant schema(s) differ from their template version" in summary
    reconcile.run(JobContext(app=ctx, now=lambda: now))  # same differences: no second alert
    with ctx.session_factory() as s:
        alerts = s.scalars(select(Alert).where(Alert.kind == "schema_drift")).all()
    assert len(alerts) == 1 and f"{changed} (default, v2): drift" in alerts[0].message
    assert fine not in alerts[0].message
    with raw(ctx) as conn:
        assert "title" in columns(conn, changed, "tasks")
        assert conn.execute("SELECT is_nullable FROM information_schema.columns WHERE table_schema = %s "
                            "AND table_name = 'tasks' AND column_name = 'title'",
                            (f"tenant_{changed}",)).fetchone()[0] == "YES"  # never repaired


def test_an_unreachable_cluster_is_reported_and_the_others_checked(ctx, new_slug):
    add_cluster(ctx, OPERATOR, "eu3", "CP_CLUSTER_URL_TEST_UNSET_3", verify=False)
    here, away = new_slug("sd"), new_slug("sd")
    make_tenant(ctx, here)
    with ctx.session_factory() as s:  # a tenant recorded on a cluster this process cannot reach
        s.add(Tenant(slug=away, name="Away", plan_code="team", status="active", cluster_name="eu3",
                     template_version=1))
        s.commit()
    report = {r["tenant"]: r for r in drift.verify(ctx, OPERATOR)}
    assert report[here]["status"] == "ok"
    assert report[away]["status"] == "unreachable" and "CP_CLUSTER_URL_TEST_UNSET_3" in report[away]["error"]
