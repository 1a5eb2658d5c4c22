"""The default cluster in a database of its own (docs/operations.md "The default cluster"): tenants,
the demo and backups work there and never in the catalog's database; the embedded default makes
that database passing `clusters check`; a data folder whose catalog already holds tenants keeps
them where they are."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime
from urllib.parse import urlparse

import psycopg
import pytest
from sqlalchemy import select

from control_plane.adapters import cluster_posture as posture_adapter
from control_plane.adapters.clusters import ClusterConnections, libpq_url
from control_plane.adapters.tenant_context import tenant_transaction
from control_plane.auth.permissions import system_actor
from control_plane.bootstrap import bootstrap
from control_plane.config import Settings
from control_plane.db import embedded
from control_plane.db.models import Tenant, UsageDaily
from control_plane.db.privileged import SEARCH_PATH
from control_plane.demo import seed as seed_module
from control_plane.errors import ConfigError
from control_plane.fleet import drift
from control_plane.services import cluster_posture, reconcile, tenants
from tests import moto_server
from tests.conftest import create_database
from tests.factories import make_tenant

moto_endpoint = moto_server.moto_endpoint  # fixture
ADMIN = system_actor("t")


@pytest.fixture(scope="module")
def tenant_db(pg_server) -> str:
    return libpq_url(pg_server.url(create_database(pg_server, "cp_tenants")))


@pytest.fixture
def split(ctx, pg_server, tenant_db):
    """The test catalog with its default cluster in `tenant_db`, as the embedded default runs."""
    clusters = ClusterConnections(ctx.catalog_url, default_url=tenant_db)
    yield dataclasses.replace(ctx, clusters=clusters, embedded_server=pg_server)
    clusters.close()


def _schemas(url: str, slugs: list[str]) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        return {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
                                           ([f"tenant_{s}" for s in slugs],))}


def test_demo_seeds_tenants_on_the_separate_database(split, tenant_db):
    result = seed_module.seed_demo(split, ADMIN, tenants=8, months=1, seed=random.randrange(1, 2**31))
    slugs = [t.slug for t in result.tenants]
    assert _schemas(tenant_db, slugs) == {f"tenant_{s}" for s in slugs}
    assert _schemas(split.catalog_url, slugs) == set()
    with split.session_factory() as session:
        latest = dict(session.execute(select(UsageDaily.tenant_slug, UsageDaily.storage_bytes)
                                      .where(UsageDaily.day == datetime.now(UTC).date())).all())
    assert set(latest) == set(slugs)
    assert all(size > 0 for size in latest.values()), latest  # measured in the tenants' own database


def test_lifecycle_drift_and_backup_on_the_separate_database(split, tenant_db, new_slug, tmp_path):
    slug = new_slug("sep")
    view = make_tenant(split, slug)
    assert view.status == "active" and view.cluster == "default"
    assert _schemas(tenant_db, [slug]) == {f"tenant_{slug}"} and _schemas(split.catalog_url, [slug]) == set()
    with split.clusters.connect(None, autocommit=True) as conn, tenant_transaction(conn, slug) as t:
        t.execute("INSERT INTO users (email, full_name) VALUES ('a@x.io', 'A')")
    assert tenants.suspend(split, ADMIN, slug, "unpaid").status == "suspended"
    assert tenants.resume(split, ADMIN, slug).status == "active"
    assert [d.line() for d in reconcile.find_drift(split, datetime.now(UTC)) if d.slug == slug] == []
    assert [r["status"] for r in drift.verify(split, ADMIN) if r["tenant"] == slug] == ["ok"]

    from control_plane.backup import service as backup

    [result] = backup.backup_tenants(split, ADMIN, str(tmp_path / "b"), cluster="default")
    assert [f["schemas"] for f in result.files] == [[f"tenant_{slug}"]]
    with split.session_factory() as session:
        assert session.scalar(select(Tenant.status).where(Tenant.slug == slug)) == "active"


def test_embedded_tenant_database_is_made_passing_the_posture_check(pg_server):
    catalog = create_database(pg_server, "cp_fresh")
    name = f"{catalog}_t"
    url = embedded.tenant_database(pg_server, catalog, name)
    assert url == pg_server.url(name)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        report = cluster_posture.evaluate("default", posture_adapter.read(conn), conn)
    assert report.failing == [], [i.as_dict() for i in report.failing]
    assert embedded.tenant_database(pg_server, catalog, name) == url  # found again, one statement


def test_a_catalog_that_already_holds_tenants_keeps_them(pg_server):
    catalog = create_database(pg_server, "cp_legacy")
    with psycopg.connect(libpq_url(pg_server.url(catalog)), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA tenant_old")
    assert embedded.tenant_database(pg_server, catalog, f"{catalog}_t") is None
    with psycopg.connect(libpq_url(pg_server.url("postgres"))) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (f"{catalog}_t",)).fetchone() is None


def test_cp_cluster_url_default_is_the_default_cluster(database_url, tenant_db, test_settings):
    settings = dataclasses.replace(test_settings, **{
        "cluster_url_default": Settings.from_env({"CP_CLUSTER_URL_DEFAULT": tenant_db}).cluster_url_default})
    ctx = bootstrap(settings, run_migrations=False, database_url=database_url)
    try:
        with ctx.clusters.connect(None) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == urlparse(tenant_db).path.lstrip("/")
            assert conn.execute("SHOW search_path").fetchone()[0] == SEARCH_PATH
        with ctx.clusters.connect_catalog() as conn:
            assert conn.execute("SELECT to_regclass('control_plane.tenants')").fetchone()[0] is not None
        assert not ctx.clusters.shares_catalog(None)
    finally:
        ctx.close()
    with pytest.raises(ConfigError, match="CP_CLUSTER_URL_DEFAULT must start with postgresql://"):
        Settings.from_env({"CP_CLUSTER_URL_DEFAULT": "mysql://x"})


def test_a_fleet_run_migrates_the_default_cluster_in_its_own_database(split, tenant_db, new_slug):
    """The default cluster's tenants are migrated there (cluster first, catalog after), and the
    run's lock and ledger stay in the catalog."""
    from control_plane.fleet import service
    from control_plane.fleet.options import Options
    from tests.integration.fleet_helpers import catalog_version, comment

    slug = new_slug("sepm")
    make_tenant(split, slug, template_version=2)
    started = service.start(split, ADMIN, Options(waves=(100,), soak_seconds=0, tenants=(slug,)))
    assert service.drive(split, ADMIN, started.run_id).status == "completed"
    with psycopg.connect(libpq_url(tenant_db), autocommit=True) as conn:
        assert comment(conn, slug).endswith("v3")
    with psycopg.connect(libpq_url(split.catalog_url), autocommit=True) as conn:
        assert catalog_version(conn, slug) == 3


def test_archive_and_restore_on_the_separate_database(split, tenant_db, new_slug, moto_endpoint):
    """Archive (dump, verify, drop) and restore go to the default cluster's own database."""
    import httpx

    from control_plane.archive import service as archive
    from control_plane.aws.clients import AwsClients

    httpx.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    split.aws = AwsClients(split.settings, endpoint_url=moto_endpoint)
    split.aws.client("s3").create_bucket(Bucket=split.settings.archive_bucket)
    slug = new_slug("sepa")
    make_tenant(split, slug)
    with split.clusters.connect(None, autocommit=True) as conn, tenant_transaction(conn, slug) as t:
        t.execute("INSERT INTO users (email, full_name) SELECT 'u' || g || '@x.io', 'U' FROM generate_series(1, 7) g")
    assert archive.archive_tenant(split, ADMIN, slug).status == "archived"
    assert _schemas(tenant_db, [slug]) == set()
    assert archive.restore_tenant(split, ADMIN, slug).status == "active"
    assert _schemas(tenant_db, [slug]) == {f"tenant_{slug}"} and _schemas(split.catalog_url, [slug]) == set()
    with split.clusters.connect(None, autocommit=True) as conn, tenant_transaction(conn, slug) as t:
        assert t.execute("SELECT count(*) FROM users").fetchone()[0] == 7
