"""Tenants on a cluster other than the catalog database: DDL commits there first, the catalog
follows, and a crash between the two is finished by re-running."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from control_plane.adapters.cluster_catalog import inspect_tenant
from control_plane.adapters.clusters import libpq_url
from control_plane.adapters.tenant_context import tenant_transaction
from control_plane.db.models import Cluster, Tenant
from control_plane.services import tenants


class Crash(Exception):
    pass


def crash_at(name):
    def fault(step):
        if step == name:
            raise Crash(step)

    return fault


@pytest.fixture(scope="module")
def second_database(pg_server):
    name = f"cp_cluster_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(host=str(pg_server.socket_dir), port=pg_server.port, user="postgres",
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return libpq_url(pg_server.url(name))


@pytest.fixture
def remote(ctx, second_database, monkeypatch):
    monkeypatch.setenv("CP_TEST_CLUSTER_URL", second_database)
    with ctx.session_factory() as s:
        s.add(Cluster(name="eu1", url_env="CP_TEST_CLUSTER_URL", accepts_tenants=False))
        s.commit()
    with psycopg.connect(second_database, autocommit=True) as conn:
        yield conn


def status_of(ctx, slug):
    with ctx.session_factory() as s:
        row = s.query(Tenant).filter_by(slug=slug).one_or_none()
        return row.status if row else None


def test_lifecycle_on_another_cluster(ctx, admin, remote, new_slug):
    slug = new_slug()
    view = tenants.provision(ctx, admin, slug, "Remote Co", "team", cluster="eu1")
    assert view.cluster == "eu1" and view.status == "active"
    assert inspect_tenant(remote, slug).complete
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as catalog_db:
        assert not inspect_tenant(catalog_db, slug).schema_exists  # not on the catalog database
    with tenant_transaction(remote, slug) as conn:
        conn.execute("INSERT INTO teams (name) VALUES ('eu')")
    tenants.suspend(ctx, admin, slug, "remote suspend")
    assert not inspect_tenant(remote, slug).role_can_read
    tenants.resume(ctx, admin, slug)
    with tenant_transaction(remote, slug) as conn:
        assert conn.execute("SELECT count(*) FROM teams").fetchone()[0] == 1


@pytest.mark.parametrize("step", ["catalog_recorded", "schema_created", "cluster_committed", "before_commit"])
def test_crash_between_cluster_and_catalog_is_finished_by_retry(ctx, admin, remote, new_slug, step):
    slug = new_slug()
    with pytest.raises(Crash):
        tenants.provision(ctx, admin, slug, "Crashy", "team", cluster="eu1", fault=crash_at(step))
    assert status_of(ctx, slug) == "provisioning"  # recorded first, never lost
    committed_on_cluster = step in ("cluster_committed", "before_commit")
    assert inspect_tenant(remote, slug).complete == committed_on_cluster
    view = tenants.provision(ctx, admin, slug, "Crashy", "team", cluster="eu1")
    assert view.status == "active" and inspect_tenant(remote, slug).complete


def test_placement_skips_clusters_that_do_not_accept_tenants(ctx, admin, remote, new_slug):
    assert tenants.provision(ctx, admin, new_slug(), "Default", "team").cluster == "default"
