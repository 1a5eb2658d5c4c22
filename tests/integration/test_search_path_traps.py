"""No privileged path resolves a name through a schema a tenant can write (docs/security.md "The
database is a trust boundary"). A catalog database where PUBLIC may create in `public` (PostgreSQL
14 and older) gets traps planted by a tenant for every pg_catalog function our code names and every
operator our SQL writes (tests/traps.py); then every privileged path runs through the CLI and the
jobs, and no trap may have run as anything but a tenant role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from control_plane.adapters.clusters import ClusterConnections
from control_plane.archive.purge import purge_archives
from control_plane.aws.clients import AwsClients
from control_plane.cli import main as cli_main
from control_plane.config import Settings, libpq_url
from control_plane.context import AppContext
from control_plane.db import migrate, privileged
from control_plane.db.engine import make_engine, make_session_factory
from jobs.__main__ import main as jobs_main
from tests import moto_server, traps
from tests.conftest import create_database

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures

JOBS = ("health_sweep", "check_rollup", "usage_rollup", "aurora_capacity", "noisy_neighbours", "reconcile",
        "archive_purge", "fleet_migrations")


@pytest.fixture
def trapped(pg_server, aws, moto_endpoint, tmp_path, monkeypatch, capsys, new_slug) -> Iterator[dict]:
    """A catalog of its own (traps must not reach the other tests), with one tenant that plants
    the traps, and `run(*argv)` for the CLI against it. Roles are per server: slugs are new."""
    url = pg_server.url(create_database(pg_server, "cp_trap"))
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("CP_DATA_DIR", str(tmp_path))
    settings = Settings.from_env()
    aws.client("s3").create_bucket(Bucket=settings.archive_bucket)

    def run(*argv: str, tool=cli_main) -> str:
        try:
            code = tool(list(argv))
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        assert code == 0, f"{argv}: exit {code}: {err}"
        return out

    mallory = new_slug("mallory")
    run("tenants", "provision", mallory, "--name", "Mallory", "--plan", "team", "--actor", "setup")
    admin = psycopg.connect(libpq_url(url), autocommit=True)
    planted = traps.plant(admin, f"tenant_{mallory}")
    assert planted > 500  # the code names many pg_catalog functions; a broken scan would plant few
    opened: list[str] = []
    real_connect = psycopg.Connection.connect.__func__

    def spy(cls, conninfo: str = "", **kwargs):  # still connects: records what each session starts with
        opened.append(f"{conninfo} options={kwargs.get('options', '')}")
        return real_connect(cls, conninfo, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "connect", classmethod(spy))
    monkeypatch.setattr(psycopg, "connect", psycopg.Connection.connect)
    engine = make_engine(url)
    ctx = AppContext(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                     clusters=ClusterConnections(url), aws=AwsClients(settings), catalog_url=url)
    try:
        yield {"run": run, "admin": admin, "ctx": ctx, "url": url, "slug": new_slug, "opened": opened}
    finally:
        ctx.close()
        admin.close()


def assert_no_trap_ran(admin: psycopg.Connection, after: str) -> None:
    count, log = traps.hits(admin)
    assert count == 0, f"after {after}: tenant code ran with our privileges {count} times: {log[:10]}"


def test_a_trap_catches_an_unpinned_privileged_session(trapped):
    """The traps work: a superuser session with the default search_path falls into one."""
    with psycopg.connect(libpq_url(trapped["url"]), autocommit=True) as conn:
        conn.execute("SELECT pg_try_advisory_lock(hashtextextended('control_plane.fleet.run:1', 0))")
        conn.execute("SELECT 'table ' || c.relname FROM pg_class c LIMIT 1")
    count, log = traps.hits(trapped["admin"])
    assert count >= 2
    assert {trap for _, trap in log} >= {"hashtextextended(text, integer)"}


def test_no_privileged_path_runs_a_tenants_trap(trapped):
    run, admin, ctx = trapped["run"], trapped["admin"], trapped["ctx"]
    alice, bob = trapped["slug"]("alice"), trapped["slug"]("bob")
    # `public` is open to PUBLIC now: the posture gate refuses new tenants unless overridden
    run("tenants", "provision", alice, "--name", "Alice", "--plan", "team", "--template-version", "1",
        "--allow-unsafe-cluster")
    run("tenants", "provision", bob, "--name", "Bob", "--plan", "starter", "--allow-unsafe-cluster")
    assert_no_trap_ran(admin, "provision")
    run("tenants", "suspend", alice, "--reason", "unpaid")
    run("tenants", "resume", alice)
    run("tenants", "set-plan", alice, "business")
    assert json.loads(run("tenants", "show", alice, "--format", "json"))["plan"] == "business"
    run("tenants", "list", "--format", "json")
    assert_no_trap_ran(admin, "lifecycle")

    run("tenants", "migrations")
    run("tenants", "migrate", "--soak", "0", "--tenants", alice)
    run("tenants", "verify-schemas", "--format", "json")
    run_id = json.loads(run("tenants", "migrate", "status", "--format", "json"))["id"]
    run("tenants", "migrate", "rollback", str(run_id))
    assert_no_trap_ran(admin, "migrate and rollback")

    run("tenants", "archive", bob, "--format", "json")
    run("tenants", "restore", bob, "--format", "json")
    run("tenants", "archive", bob, "--format", "json")
    purged = purge_archives(ctx, datetime.now(UTC) + timedelta(days=ctx.settings.archive_retention_days + 1))
    assert purged.purged == [bob]
    assert_no_trap_ran(admin, "archive, restore and purge")

    for job in JOBS:
        run("run-once", job, tool=jobs_main)
        assert_no_trap_ran(admin, f"job {job}")

    # Every session those paths opened in this process started with the pinned search_path.
    opened = trapped["opened"]
    assert len(opened) > 20
    assert [c for c in opened if privileged.SEARCH_PATH not in c] == []


def test_no_privileged_path_on_a_second_cluster_runs_a_tenants_trap(trapped, pg_server_b, monkeypatch):
    """The same on a registered cluster of its own server: a tenant there plants the traps, then
    its lifecycle, a migration and rollback, an archive and restore, an online move back to the
    default cluster (logical replication) and every job run."""
    run, admin = trapped["run"], trapped["admin"]
    url_b = pg_server_b.url(create_database(pg_server_b, "cp_trap_b"))
    monkeypatch.setenv("CP_CLUSTER_URL_TRAPB", libpq_url(url_b))
    run("clusters", "add", "trapb", "--url-env", "CP_CLUSTER_URL_TRAPB")
    carol, dave = trapped["slug"]("carol"), trapped["slug"]("dave")
    run("tenants", "provision", carol, "--name", "Carol", "--plan", "team", "--cluster", "trapb")
    admin_b = psycopg.connect(libpq_url(url_b), autocommit=True)
    try:
        traps.plant(admin_b, f"tenant_{carol}")
        run("tenants", "provision", dave, "--name", "Dave", "--plan", "team", "--cluster", "trapb",
            "--template-version", "1", "--allow-unsafe-cluster")
        run("tenants", "suspend", dave, "--reason", "check")
        run("tenants", "resume", dave)
        run("tenants", "set-plan", dave, "business")
        run("tenants", "migrate", "--soak", "0", "--tenants", dave)
        run("tenants", "verify-schemas", "--format", "json")
        run_id = json.loads(run("tenants", "migrate", "status", "--format", "json"))["id"]
        run("tenants", "migrate", "rollback", str(run_id))
        assert_no_trap_ran(admin_b, "lifecycle and migrations on trapb")
        run("tenants", "archive", dave, "--format", "json")
        run("tenants", "restore", dave, "--format", "json")
        assert_no_trap_ran(admin_b, "archive and restore on trapb")
        run("tenants", "move", dave, "--to", "default", "--sync-timeout", "120")
        assert json.loads(run("tenants", "show", dave, "--format", "json"))["cluster"] == "default"
        assert_no_trap_ran(admin_b, "move from trapb")
        assert_no_trap_ran(admin, "move to default")
        for job in JOBS:
            run("run-once", job, tool=jobs_main)
        assert_no_trap_ran(admin_b, "jobs")
        assert_no_trap_ran(admin, "jobs")
    finally:
        admin_b.close()
