"""Tenants on a cluster other than the catalog database: DDL commits there first, the catalog
follows, and a crash between the two is finished by re-running."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from control_plane.adapters.cluster_catalog import inspect_tenant
from control_plane.adapters.clusters import libpq_url
from control_plane.adapters.tenant_context import tenant_transaction
from control_plane.db import embedded
from control_plane.db.models import AuditEntry, Cluster, Tenant
from control_plane.errors import Conflict, DatabaseUnavailable
from control_plane.services import tenants
from tests.conftest import create_database
from tests.faults import Crash, crash_at


@pytest.fixture(scope="module")
def second_database(pg_server):
    return libpq_url(pg_server.url(create_database(pg_server, "cp_cluster")))


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


def test_eight_parallel_provisions_of_one_slug_on_another_cluster(ctx, admin, remote, new_slug):
    """Issue 15: exactly one run wins; the others get a Conflict (exit 4), no UniqueViolation."""
    slug = new_slug()
    start = threading.Barrier(8)

    def attempt(_: int) -> str:
        start.wait()
        try:
            return tenants.provision(ctx, admin, slug, "Racy", "team", cluster="eu1").status
        except Conflict as exc:
            return f"conflict: {exc}"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(8)))  # anything but a Conflict fails the test here
    assert results.count("active") == 1, results
    assert all(r.startswith("conflict: ") for r in results if r != "active")
    assert inspect_tenant(remote, slug).complete and status_of(ctx, slug) == "active"
    with ctx.session_factory() as s:
        finished = s.query(AuditEntry).filter_by(tenant_slug=slug, action="tenant.provision").count()
    assert finished == 1


@pytest.fixture(scope="module")
def second_server() -> Iterator[dict]:
    """A PostgreSQL server of its own (not just a second database), so a test can stop it."""
    data_dir = Path(tempfile.mkdtemp(prefix="cp-second-"))
    data_dir.chmod(0o755)
    state = {"server": embedded.start(data_dir, engine="binaries"), "data_dir": data_dir}
    state["url"] = libpq_url(state["server"].url())
    yield state
    try:
        state["server"].stop()
    except DatabaseUnavailable:
        pass  # a test left it stopped
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def second_cluster(ctx, second_server, monkeypatch):
    monkeypatch.setenv("CP_CLUSTER_URL_SECOND", second_server["url"])
    with ctx.session_factory() as s:
        s.add(Cluster(name="second", url_env="CP_CLUSTER_URL_SECOND", accepts_tenants=False))
        s.commit()
    yield second_server
    if not embedded._socket_ready(second_server["data_dir"] / "pg"):
        second_server["server"] = embedded.start(second_server["data_dir"], engine="binaries")


def test_a_stopped_cluster_is_one_line_and_exit_7(cli, second_cluster, new_slug):
    second_cluster["server"].stop()
    slug = new_slug()
    code, out, err = cli("tenants", "provision", slug, "--name", "Down", "--plan", "team", "--cluster", "second")
    assert code == 7, err
    assert err.startswith("error: Cannot reach the cluster in CP_CLUSTER_URL_SECOND") and err.count("\n") == 1
    assert "Traceback" not in err and out == ""


def test_a_crash_of_the_cluster_during_provisioning_is_database_unavailable(ctx, admin, second_cluster, new_slug):
    """The server dies (pg_ctl stop -m immediate) inside the DDL transaction: DatabaseUnavailable,
    not a raw psycopg traceback; once it is back, running provision again finishes the tenant."""
    slug = new_slug()

    def crash(step: str) -> None:
        if step == "schema_created":
            second_cluster["server"].stop(mode="immediate")

    with pytest.raises(DatabaseUnavailable, match="CP_CLUSTER_URL_SECOND"):
        tenants.provision(ctx, admin, slug, "Crash", "team", cluster="second", fault=crash)
    assert status_of(ctx, slug) == "provisioning"
    second_cluster["server"] = embedded.start(second_cluster["data_dir"], engine="binaries")
    assert tenants.provision(ctx, admin, slug, "Crash", "team", cluster="second").status == "active"


def test_a_cluster_url_naming_an_unknown_database_is_a_configuration_error_at_once(cli, ctx, second_server,
                                                                                 monkeypatch, new_slug):
    """Issue 20 for clusters: a permanent error is exit 6 (check the variable), not exit 7 (retry)."""
    monkeypatch.setenv("CP_CLUSTER_URL_TYPO", libpq_url(second_server["server"].url("no_such_database")))
    with ctx.session_factory() as s:
        s.add(Cluster(name="typo", url_env="CP_CLUSTER_URL_TYPO", accepts_tenants=False))
        s.commit()
    code, _, err = cli("tenants", "provision", new_slug(), "--name", "Typo", "--plan", "team", "--cluster", "typo")
    assert code == 6, err
    assert 'database "no_such_database" does not exist' in err and "CP_CLUSTER_URL_TYPO" in err
    assert err.count("\n") == 1
