"""Reconcile: drift between the catalog and the cluster is reported (for the slugs made here; other
tests' schemas persist in the shared cluster) and nothing is dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from sqlalchemy import select, update

from control_plane.adapters import tenant_ddl
from control_plane.adapters.clusters import libpq_url
from control_plane.db.models import Alert, Tenant
from control_plane.scheduler.context import JobContext
from control_plane.services import tenants
from control_plane.services.reconcile import find_drift
from jobs import reconcile
from tests.factories import make_tenant


def sql_on_catalog(ctx, statement) -> None:
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as conn:
        conn.execute(statement)


def test_drift_is_reported_per_kind_and_nothing_is_dropped(ctx, admin, new_slug):
    fine, gone, orphan, leaky, stuck = (new_slug(p) for p in ("fine", "gone", "orph", "leak", "stuck"))
    for slug in (fine, gone, leaky, stuck):
        make_tenant(ctx, slug)
    sql_on_catalog(ctx, sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(f"tenant_{gone}")))
    sql_on_catalog(ctx, tenant_ddl.provision_script(orphan))  # on the cluster, not in the catalog
    tenants.suspend(ctx, admin, leaky, "unpaid")
    sql_on_catalog(ctx, tenant_ddl.grant_access(leaky))  # someone granted access back by hand
    with ctx.session_factory() as session:
        session.execute(update(Tenant).where(Tenant.slug == stuck)
                        .values(status="provisioning", updated_at=datetime.now(UTC) - timedelta(hours=3)))
        session.commit()

    now = datetime.now(UTC)
    mine = {fine, gone, orphan, leaky, stuck}
    found = {(d.kind, d.slug) for d in find_drift(ctx, now) if d.slug in mine}

    assert found == {("missing_schema", gone), ("orphan_schema", orphan), ("access", leaky), ("stuck", stuck)}
    with psycopg.connect(libpq_url(ctx.catalog_url)) as conn:  # reported, never dropped
        assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (f"tenant_{orphan}",)).fetchone()

    summary = reconcile.run(JobContext(app=ctx, now=lambda: now))
    assert "drift items" in summary and "orphan_schema" in summary
    reconcile.run(JobContext(app=ctx, now=lambda: now))  # same drift: no second alert
    with ctx.session_factory() as session:
        alerts = session.scalars(select(Alert).where(Alert.kind == "drift")).all()
    # Other tests' schemas persist in this cluster, so the alert may hold hundreds of orphans: the
    # items someone must act on lead it, whatever their number.
    assert len(alerts) == 1
    lines = alerts[0].message.splitlines()[1:]  # under the summary line
    first_orphan = next(i for i, line in enumerate(lines) if " orphan_" in line)
    assert any(leaky in line and " access " in line for line in lines[:first_orphan])
    assert any(gone in line and " missing_schema " in line for line in lines[:first_orphan])


def test_the_alert_lists_urgent_items_first_and_counts_what_it_leaves_out():
    from control_plane.services.reconcile import ALERT_LINES, Drift, alert_text

    orphans = [Drift("default", "orphan_schema", f"o{i:04d}", "no such tenant") for i in range(ALERT_LINES + 5)]
    text = alert_text([*orphans, Drift("default", "access", "leaky", "suspended but readable")])
    lines = text.splitlines()
    assert lines[0].startswith(f"{ALERT_LINES + 6} drift items")
    assert lines[1].startswith("[default] access leaky")
    assert lines[-1].startswith("... and 6 more") and "clusters drift" in lines[-1]
    assert len(lines) == ALERT_LINES + 2


def test_clusters_drift_lists_every_item(ctx, cli, new_slug):
    orphan = new_slug("orph")
    sql_on_catalog(ctx, tenant_ddl.provision_script(orphan))
    code, out, err = cli("clusters", "drift", "--format", "csv")
    assert code == 1 and "drift items" in err
    assert f"default,orphan_schema,{orphan}," in out


def test_unreachable_cluster_is_reported_and_others_checked(ctx, admin, new_slug):
    from control_plane.services.clusters import add_cluster

    add_cluster(ctx, admin, "eu2", "CP_CLUSTER_URL_TEST_UNSET", verify=False)
    slug = new_slug("ok")
    make_tenant(ctx, slug)
    drift = find_drift(ctx, datetime.now(UTC))
    assert any(d.kind == "unreachable" and d.cluster == "eu2" and "CP_CLUSTER_URL_TEST_UNSET" in d.detail
               for d in drift)
    assert not [d for d in drift if d.slug == slug]
