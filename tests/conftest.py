"""Test session plumbing: one private PostgreSQL per session (the embedded bootstrap in a
temporary directory), a fresh catalog database, and a clean catalog for every test."""

from __future__ import annotations

import itertools
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from control_plane.adapters.clusters import ClusterConnections
from control_plane.auth.permissions import Actor, Role
from control_plane.aws.clients import AwsClients
from control_plane.config import Settings, libpq_url
from control_plane.context import AppContext
from control_plane.db import embedded, migrate
from control_plane.db.engine import make_engine, make_session_factory
from control_plane.db.models import Cluster
from tests import loopback_only
from tests.clock import FakeClock

loopback_only.install()  # every test: network traffic to loopback only (tests/loopback_only.py)

# Tables that keep their seed rows between tests; every other catalog table is emptied.
SEEDED = {"plans", "clusters", "alembic_version"}
CLUSTER_B_URL_ENV = "CP_CLUSTER_URL_B"  # the `cluster_b` fixture's variable


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath))
        for marker in ("unit", "integration", "jobs", "ui", "e2e"):
            if f"tests/{marker}/" in path.as_posix():
                item.add_marker(getattr(pytest.mark, marker))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """CI must never pass by skipping: with CP_FORBID_SKIPS=1 a skip is a failure."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CP_FORBID_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped tests are not allowed in CI: {report.longrepr}"


def create_database(server: embedded.EmbeddedServer, prefix: str) -> str:
    """A new, uniquely named database on `server`; its name."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres",
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    embedded.harden_database(server, name)  # passes `clusters check`, as the embedded catalog does
    return name


@pytest.fixture(scope="session")
def pg_server() -> Iterator[embedded.EmbeddedServer]:
    data_dir = Path(tempfile.mkdtemp(prefix="cp-test-pg-"))
    server = embedded.start(data_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server_b(pg_server: embedded.EmbeddedServer) -> Iterator[embedded.EmbeddedServer]:
    """A second, independent server (own data folder, socket and postmaster), started only when a
    test asks for it: the other end of tenant moves. Same engine as `pg_server`, so that as root
    both run as the same system user and each can reach the other's socket; both have logical
    replication on (every embedded server does)."""
    data_dir = Path(tempfile.mkdtemp(prefix="cp-test-pg-b-"))
    server = embedded.start(data_dir, engine=pg_server.engine)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _cluster_b_database(pg_server_b: embedded.EmbeddedServer) -> str:
    """A fresh database on the second server, once per session; its URL in libpq form."""
    return libpq_url(pg_server_b.url(create_database(pg_server_b, "cp_test_b")))


@pytest.fixture
def cluster_b(ctx: AppContext, _cluster_b_database: str, monkeypatch) -> str:
    """Cluster "b" on the second server, registered for this test (`ctx` removes every cluster but
    the default before each test) with its URL in CP_CLUSTER_URL_B; not accepting new tenants, so
    a tenant lands there only when a test names it. Yields the URL (libpq form)."""
    monkeypatch.setenv(CLUSTER_B_URL_ENV, _cluster_b_database)
    with ctx.session_factory() as session:
        session.add(Cluster(name="b", url_env=CLUSTER_B_URL_ENV, accepts_tenants=False))
        session.commit()
    return _cluster_b_database


@pytest.fixture(scope="session")
def database_url(pg_server: embedded.EmbeddedServer) -> str:
    url = pg_server.url(create_database(pg_server, "cp_test"))
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def test_settings(tmp_path_factory) -> Settings:
    env = {"CP_DATA_DIR": str(tmp_path_factory.mktemp("data")), "AWS_REGION": "us-east-1"}
    return Settings.from_env(env)


@pytest.fixture(scope="session")
def session_ctx(database_url: str, test_settings: Settings) -> Iterator[AppContext]:
    engine = make_engine(database_url, pool_size=10)
    ctx = AppContext(settings=test_settings, engine=engine, session_factory=make_session_factory(engine),
                     clusters=ClusterConnections(database_url), aws=AwsClients(test_settings),
                     catalog_url=database_url)
    yield ctx
    ctx.close()


@pytest.fixture
def ctx(session_ctx: AppContext) -> AppContext:
    """A clean catalog (seed rows kept) for every test. Tenant schemas and roles stay on the
    cluster, so factories give every tenant a slug never used before in the session."""
    with session_ctx.engine.begin() as conn:
        tables = conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'control_plane'")).scalars().all()
        to_clear = [t for t in tables if t not in SEEDED]
        if to_clear:
            conn.execute(text("TRUNCATE " + ", ".join(f'control_plane."{t}"' for t in to_clear)
                              + " RESTART IDENTITY CASCADE"))
        conn.execute(text("DELETE FROM control_plane.clusters WHERE name <> 'default'"))
        conn.execute(text("UPDATE control_plane.clusters SET aurora_cluster_id = NULL, acu_floor = 0.5, "
                          "acu_ceiling = 64, capacity_weight = 1, accepts_tenants = true WHERE name = 'default'"))
        # Plans are seed data that tests may edit: put back the starting plans.
        conn.execute(text("DELETE FROM control_plane.plans"))
        conn.execute(text(
            "INSERT INTO control_plane.plans (code, name, list_price, interval, sort_order, active) VALUES "
            "('free', 'Free', 0, 'month', 1, true), ('starter', 'Starter', 29, 'month', 2, true), "
            "('team', 'Team', 99, 'month', 3, true), ('business', 'Business', 299, 'month', 4, true), "
            "('enterprise', 'Enterprise', 999, 'month', 5, true)"))
    from control_plane.services import cluster_posture

    cluster_posture.forget()  # the provisioning gate's per-process cache: never across tests
    return session_ctx


@pytest.fixture
def cli(ctx, database_url, monkeypatch, capsys):
    """Run `python -m control_plane ARGV` in-process against the test catalog: (exit code, stdout, stderr)."""
    from control_plane.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse usage errors exit directly
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


_slugs = itertools.count(1)


@pytest.fixture
def new_slug() -> callable:
    run = uuid.uuid4().hex[:5]

    def make(prefix: str = "t") -> str:
        return f"{prefix}{run}_{next(_slugs)}"

    return make


@pytest.fixture
def admin() -> Actor:
    return Actor("test-admin", Role.ADMIN)


@pytest.fixture
def support() -> Actor:
    return Actor("test-support", Role.SUPPORT)


@pytest.fixture
def founder() -> Actor:
    return Actor("test-founder", Role.FOUNDER)


@pytest.fixture
def oncall() -> Actor:
    return Actor("test-oncall", Role.ONCALL)


@pytest.fixture
def clock(ctx, monkeypatch) -> FakeClock:
    """A clock the test moves by hand: the context's clock (control_plane/clock.py)."""
    fake = FakeClock()
    monkeypatch.setattr(ctx, "clock", fake)
    return fake
