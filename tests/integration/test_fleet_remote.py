"""Fleet migrations on a cluster other than the catalog database: the cluster commits first, the
catalog follows, a lost catalog update is repaired by running again; a run and the drift check
span both clusters."""

from __future__ import annotations

from control_plane.fleet import apply, drift, service
from control_plane.fleet.options import Options
from control_plane.services import tenants
from tests.factories import OPERATOR, make_tenant
from tests.integration.fleet_helpers import catalog_version, comment, raw
from tests.integration.test_remote_cluster_lifecycle import remote, second_database  # noqa: F401 - fixtures


def test_a_remote_tenant_is_migrated_and_a_lost_catalog_update_is_repaired(ctx, remote, new_slug):  # noqa: F811
    slug = new_slug("x")
    tenants.provision(ctx, OPERATOR, slug, "Remote", "team", cluster="eu1", template_version=1)
    target = apply.Tenant(slug, "eu1", "CP_TEST_CLUSTER_URL")
    out = apply.migrate(ctx, OPERATOR, target, 3)
    assert (out.status, out.steps) == ("applied", ["+2", "+3"])
    assert comment(remote, slug).endswith("v3")
    with raw(ctx) as conn:
        assert catalog_version(conn, slug) == 3
        conn.execute("UPDATE control_plane.tenants SET template_version = 2 WHERE slug = %s", (slug,))
    again = apply.migrate(ctx, OPERATOR, target, 3)  # the cluster says v3: nothing applied, catalog follows
    assert (again.status, again.steps) == ("applied", [])
    with raw(ctx) as conn:
        assert catalog_version(conn, slug) == 3


def test_a_run_and_the_drift_check_span_both_clusters(ctx, remote, new_slug):  # noqa: F811
    here, there = new_slug("x"), new_slug("x")
    make_tenant(ctx, here, template_version=2)
    tenants.provision(ctx, OPERATOR, there, "Remote", "team", cluster="eu1", template_version=2)
    started = service.start(ctx, OPERATOR, Options(waves=(50, 100), soak_seconds=0, tenants=(here, there)))
    assert {c.cluster for w in started.plan.waves for c in w} == {"default", "eu1"}
    assert service.drive(ctx, OPERATOR, started.run_id).status == "completed"
    assert comment(remote, there).endswith("v3")
    report = {r["tenant"]: r for r in drift.verify(ctx, OPERATOR)}
    assert report[here]["status"] == report[there]["status"] == "ok" and report[there]["cluster"] == "eu1"
