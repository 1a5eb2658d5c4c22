"""A move's credentials (docs/moves.md "Credentials"): the subscription logs in to the source as a
per-move role with a random password, never with the control plane's credentials; no password
reaches a server's log or pg_stat_statements; the role is dropped at clean-up, at cancel, and a
resumed move gets a new password rather than a stored one.

Both ends are databases of one server started for this module with every statement logged
(`log_statement = all`, `log_min_duration_statement = 0`) and pg_stat_statements loaded when the
machine's PostgreSQL has it: its log and statistics are the source's and the target's at once.
Its auth is trust (NOTES.md), so passwords are not checked: what is checked is where they land."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from control_plane.config import libpq_url
from control_plane.db import embedded
from control_plane.db.models import Cluster
from control_plane.moves import queries, service, steps
from control_plane.moves.service import MoveOptions
from control_plane.services import tenants
from tests.conftest import create_database
from tests.factories import OPERATOR
from tests.faults import Crash
from tests.integration.move_helpers import contents, fill, schema_of

FAST = MoveOptions(poll_s=0.02, sync_timeout_s=60, catchup_timeout_s=30)
SRC_ENV, DST_ENV = "CP_CLUSTER_URL_SRC", "CP_CLUSTER_URL_DST"
CATALOG_SECRET = "CatalogPassw0rd-Zq81xKv"  # the control plane's password in the clusters' URLs


def _has_pg_stat_statements(bin_dir: Path) -> bool:
    real = (bin_dir / "pg_ctl").resolve().parent  # /usr/local/bin/pg_ctl may link to /usr/lib/postgresql/N/bin
    return any((real.parent / lib / "pg_stat_statements.so").exists() for lib in ("lib", "lib/postgresql"))


@pytest.fixture(scope="module")
def logged_server(pg_server) -> Iterator[tuple[embedded.EmbeddedServer, bool]]:
    """(server, whether pg_stat_statements is loaded). The engine of the other servers when its
    PostgreSQL has pg_stat_statements, else the machine's binaries when theirs has it, else the
    log alone."""
    engine, stats = pg_server.engine, _has_pg_stat_statements(pg_server.bin_dir)
    if not stats:
        machine = embedded.find_postgres_binaries()
        if machine is not None and _has_pg_stat_statements(machine):
            engine, stats = "binaries", True
    settings = {"log_statement": "all", "log_min_duration_statement": "0"}
    if stats:
        settings["shared_preload_libraries"] = "pg_stat_statements"
    server = embedded.start(Path(tempfile.mkdtemp(prefix="cp-test-pg-logged-")), engine=engine, settings=settings)
    for name in ("cp_src", "cp_dst"):
        create_database(server, name)
    with psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:  # PostgreSQL 15 starts apply workers at most this often
        conn.execute("ALTER SYSTEM SET wal_retrieve_retry_interval = '100ms'")
        conn.execute("SELECT pg_catalog.pg_reload_conf()")
    yield server, stats
    server.stop()


def _database(server: embedded.EmbeddedServer, prefix: str) -> str:
    with psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres", dbname="postgres") as c:
        return c.execute("SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE %s",
                         (prefix + "\\_%",)).fetchone()[0]


@pytest.fixture
def clusters(ctx, logged_server, monkeypatch):
    """Clusters `src` and `dst` on the logged server, their URLs holding the catalog password."""
    server, stats = logged_server
    for name, env in (("src", SRC_ENV), ("dst", DST_ENV)):
        url = libpq_url(server.url(_database(server, f"cp_{name}"))).replace("postgres@", f"postgres:{CATALOG_SECRET}@")
        monkeypatch.setenv(env, url)
        with ctx.session_factory() as session:
            session.add(Cluster(name=name, url_env=env, accepts_tenants=False))
            session.commit()
    if stats:
        with ctx.clusters.connect(DST_ENV, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA public")
    return server, stats


@pytest.fixture
def tenant(ctx, clusters, new_slug):
    slug = new_slug("mk")
    tenants.provision(ctx, OPERATOR, slug, "Keys Ltd", "team", cluster="src")
    fill(ctx.clusters, SRC_ENV, slug, users=10)
    return slug


class Observer:
    """A fault hook that looks instead of crashing (or crashes once at `crash`): what the target's
    subscription connects with after the step `subscribed`, and the move's role on the source."""

    def __init__(self, ctx, crash: str | None = None) -> None:
        self.ctx, self.crash = ctx, crash
        self.conninfos: list[dict[str, str]] = []
        self.role_rights: dict | None = None

    def __call__(self, step: str) -> None:
        if step == "subscribed":
            with self.ctx.clusters.connect(DST_ENV, autocommit=True) as conn:
                row = conn.execute("SELECT subconninfo FROM pg_catalog.pg_subscription WHERE subname LIKE "
                                   "'cp\\_move\\_%'").fetchone()
            self.conninfos.append(conninfo_to_dict(row[0]))
            self.role_rights = role_rights(self.ctx, self.conninfos[-1]["user"])
        if step == self.crash:
            self.crash = None
            raise Crash(step)

    @property
    def passwords(self) -> list[str]:
        return [c["password"] for c in self.conninfos]


def role_rights(ctx, role: str) -> dict | None:
    with ctx.clusters.connect(SRC_ENV, autocommit=True) as conn:
        row = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, rolcanlogin "
                           "FROM pg_catalog.pg_roles WHERE rolname = %s", (role,)).fetchone()
        if row is None:
            return None
        tables = conn.execute(
            "SELECT n.nspname || '.' || c.relname, pg_catalog.has_table_privilege(%s, c.oid, 'INSERT') "
            "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE pg_catalog.has_table_privilege(%s, c.oid, 'SELECT') AND n.nspname NOT IN "
            "('pg_catalog', 'information_schema') ORDER BY 1", (role, role)).fetchall()
    return {"attributes": row, "tables": tables}


def where_text_lands(server: embedded.EmbeddedServer, stats: bool, ctx) -> str:
    """The server's whole log and every statement pg_stat_statements kept, as one text."""
    assert server.log_file is not None
    text = server.log_file.read_text(errors="replace")
    if stats:
        with ctx.clusters.connect(DST_ENV, autocommit=True) as conn:
            text += "\n".join(q for (q,) in conn.execute("SELECT query FROM public.pg_stat_statements"))
    return text


def assert_no_secret(text: str, *passwords: str) -> None:
    assert "CREATE PUBLICATION" in text  # statements are logged (or tracked) at all
    assert CATALOG_SECRET not in text
    for password in passwords:
        assert password and password not in text
    assert "CREATE SUBSCRIPTION" not in text and "PASSWORD 'SCRAM" not in text.upper()


def test_online_move_uses_a_per_move_role_and_no_password_is_logged_or_tracked(ctx, admin, clusters, tenant):
    server, stats = clusters
    before = contents(ctx.clusters, SRC_ENV, schema_of(tenant))
    tables = {f"{schema_of(tenant)}.{t}" for t in before}
    seen = Observer(ctx)
    moved = service.start(ctx, admin, tenant, "dst", FAST, fault=seen)
    assert moved.status == "completed"
    assert contents(ctx.clusters, DST_ENV, schema_of(tenant)) == before
    [conninfo] = seen.conninfos
    role = queries.move_role(moved.id)
    assert conninfo["user"] == role and conninfo["password"] != CATALOG_SECRET
    assert len(conninfo["password"]) >= 40
    # LOGIN REPLICATION only, and SELECT on the tenant's tables only
    assert seen.role_rights is not None
    assert seen.role_rights["attributes"] == (False, False, False, False, True, True)
    assert {t for t, _ in seen.role_rights["tables"]} == tables
    assert not any(insert for _, insert in seen.role_rights["tables"])
    assert role_rights(ctx, role) is None  # dropped at clean-up
    assert_no_secret(where_text_lands(server, stats, ctx), *seen.passwords)


def test_cancel_drops_the_role(ctx, admin, clusters, tenant):
    server, stats = clusters
    seen = Observer(ctx, crash="synchronised")  # the copy ran over the role's login, then the process died
    with pytest.raises(Crash):
        service.start(ctx, admin, tenant, "dst", FAST, fault=seen)
    move = service.current(ctx, admin, tenant)
    role = queries.move_role(move.id)
    assert role_rights(ctx, role) is not None
    assert service.cancel(ctx, admin, tenant).status == "cancelled"
    assert role_rights(ctx, role) is None
    with ctx.clusters.connect(SRC_ENV, autocommit=True) as conn:  # no right of it left behind either
        assert conn.execute("SELECT count(*) FROM pg_catalog.pg_class WHERE relacl::text LIKE %s",
                            (f"%{role}=%",)).fetchone()[0] == 0
    assert_no_secret(where_text_lands(server, stats, ctx), *seen.passwords)


def test_resumed_move_rotates_the_password(ctx, admin, clusters, tenant):
    """A crash inside `subscribed` runs it again: a new password on both sides, none stored."""
    server, stats = clusters
    seen = Observer(ctx, crash="subscribed")
    with pytest.raises(Crash):
        service.start(ctx, admin, tenant, "dst", FAST, fault=seen)
    moved = service.start(ctx, admin, tenant, "dst", FAST, fault=seen)
    assert moved.status == "completed"
    first, second = seen.passwords
    assert first != second
    assert role_rights(ctx, queries.move_role(moved.id)) is None
    assert_no_secret(where_text_lands(server, stats, ctx), first, second)


def test_resumed_move_makes_a_missing_role_again(ctx, admin, clusters, tenant):
    server, stats = clusters
    seen = Observer(ctx, crash="synchronised")
    with pytest.raises(Crash):
        service.start(ctx, admin, tenant, "dst", FAST, fault=seen)
    role = queries.move_role(service.current(ctx, admin, tenant).id)
    with ctx.clusters.connect(SRC_ENV, autocommit=True) as conn:  # somebody dropped it meanwhile
        conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
    with ctx.clusters.connect(DST_ENV, autocommit=True) as conn:
        before = conn.execute("SELECT subconninfo FROM pg_catalog.pg_subscription").fetchone()[0]
    notes: list[str] = []
    moved = service.start(ctx, admin, tenant, "dst", FAST, progress=notes.append)
    assert moved.status == "completed"
    assert any("made again, new password" in n for n in notes)
    assert role_rights(ctx, role) is None
    assert_no_secret(where_text_lands(server, stats, ctx), *seen.passwords, conninfo_to_dict(before)["password"])


def test_quiet_settings_cover_what_the_server_has(ctx, clusters):
    """pg_stat_statements.track is set when the extension is loaded, skipped without failing when
    it is not; the log settings always."""
    _, stats = clusters
    with ctx.clusters.connect(DST_ENV) as conn, conn.transaction():
        names = steps.quietly(conn, "here")
        current = dict(conn.execute("SELECT name, setting FROM pg_catalog.pg_settings WHERE name = ANY(%s)",
                                    (names,)).fetchall())
    assert ("pg_stat_statements.track" in names) is stats
    assert set(queries.CORE_QUIET_SETTINGS) <= set(names)
    assert current["log_statement"] == "none" and current["log_min_duration_statement"] == "-1"
    if stats:
        assert current["pg_stat_statements.track"] == "none"
    with ctx.clusters.connect(DST_ENV, autocommit=True) as conn:  # for that transaction only
        assert conn.execute("SELECT pg_catalog.current_setting('log_statement')").fetchone()[0] == "all"


def test_preflight_names_a_user_that_may_not_quiet_the_logs(ctx, clusters):
    """A REPLICATION-only user (enough for a source before) may not turn statement logging off:
    the move is refused up front, before any password exists; GRANT SET ON PARAMETER fixes it."""
    from control_plane.moves import preflight

    server, _ = clusters
    role = "cp_test_replicator"
    with ctx.clusters.connect(SRC_ENV, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN REPLICATION")
    try:
        as_role = {"host": str(server.socket_dir), "port": server.port, "user": role,
                   "dbname": _database(server, "cp_src")}
        with psycopg.connect(**as_role) as conn:
            facts = preflight.ServerFacts.read(conn)
        assert not facts.can_quiet
        text = preflight.assess(facts, facts).explain("src", "dst")
        assert "source cluster src: the control plane's database user may not set log_statement" in text
        assert "GRANT SET ON PARAMETER log_statement, log_min_duration_statement" in text
        with ctx.clusters.connect(SRC_ENV, autocommit=True) as conn:
            conn.execute(f"GRANT SET ON PARAMETER {', '.join(queries.CORE_QUIET_SETTINGS)} TO {role}")
        with psycopg.connect(**as_role) as conn:
            assert preflight.ServerFacts.read(conn).can_quiet
    finally:
        with ctx.clusters.connect(SRC_ENV, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
