"""`clusters check` (docs/security.md "Cluster posture"): a database where PUBLIC may create in
`public` and create temp objects fails, naming both with the SQL to run; `--fix` revokes them in one
audited transaction; provisioning there is refused unless overridden; the test catalog and the
embedded server's database pass as created; hostile cluster names are refused in one line."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import select

from control_plane.adapters import cluster_posture as adapter
from control_plane.config import libpq_url
from control_plane.db.models import AuditEntry, Cluster, Tenant
from control_plane.services import cluster_posture, tenants
from control_plane.services.cluster_posture import UnsafeCluster

URL_ENV = "CP_CLUSTER_URL_LOOSE"


def loose_database(pg_server) -> tuple[str, str]:
    """A database as PostgreSQL <= 14 (or pg_upgrade) leaves it: PUBLIC may CREATE in `public`,
    and (every version's default) PUBLIC has TEMPORARY. (name, libpq URL)."""
    name = f"cp_loose_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=str(pg_server.socket_dir), port=pg_server.port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = libpq_url(pg_server.url(name))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    return name, url


@pytest.fixture
def loose(ctx, pg_server, monkeypatch) -> tuple[str, str]:
    """Cluster "loose" registered on such a database (not accepting tenants unless named)."""
    name, url = loose_database(pg_server)
    monkeypatch.setenv(URL_ENV, url)
    with ctx.session_factory() as session:
        session.add(Cluster(name="loose", url_env=URL_ENV, accepts_tenants=False))
        session.commit()
    return name, url


def items(payload: dict) -> dict[str, dict]:
    return {i["key"]: i for i in payload["items"]}


def test_public_create_and_temporary_fail_with_the_sql_to_run(cli, loose):
    database, _ = loose
    code, out, err = cli("clusters", "check", "loose", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    found = items(report)
    assert report["status"] == "fail" and report["database"] == database
    assert found["public_create"]["status"] == "fail"
    assert 'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;' in found["public_create"]["sql"]
    assert found["temporary"]["status"] == "fail"
    assert f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC;' in found["temporary"]["sql"]
    assert {"public_create", "temporary", "tenant_create", "statement_stats", "wal_level", "max_locks",
            "version"} == set(found)
    assert found["wal_level"]["status"] == "ok"  # every embedded server has logical replication on
    assert found["version"]["explanation"].startswith("PostgreSQL ")
    assert all(i["explanation"] and "\n" not in i["explanation"] for i in report["items"])

    code, out, _ = cli("clusters", "check", "loose")  # the table says the same, SQL included
    assert code == 1
    assert "FAIL  PUBLIC may create objects" in out and 'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;' in out
    assert "FAIL  TEMPORARY for PUBLIC or tenant roles" in out


def test_fix_revokes_in_one_audited_transaction(cli, ctx, loose):
    _, url = loose
    code, out, err = cli("clusters", "check", "loose", "--fix", "--format", "json", "--actor", "alice")
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] != "fail" and result["before"]["public_create"] == "fail"
    assert 'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;' in result["ran"]
    assert "ran: REVOKE" in err
    with psycopg.connect(url) as conn:
        public_create, public_temp = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'public' "
            "AND a.grantee = 0 AND a.privilege_type = 'CREATE'), "
            "EXISTS (SELECT 1 FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
            "WHERE d.datname = current_database() AND a.grantee = 0 AND a.privilege_type = 'TEMPORARY')").fetchone()
    assert (public_create, public_temp) == (False, False)
    with ctx.session_factory() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "cluster.posture.fix"))
    assert entry.actor == "cli:alice" and entry.target == "loose" and entry.outcome == "ok"
    assert entry.before["public_create"] == "fail" and entry.after["public_create"] == "ok"
    assert entry.after["temporary"] == "ok" and entry.detail["still_failing"] == []

    code, out, _ = cli("clusters", "check", "loose", "--fix", "--format", "json")  # nothing left: a noop
    assert code == 0 and json.loads(out)["ran"] == []
    with ctx.session_factory() as session:
        outcomes = session.scalars(select(AuditEntry.outcome).where(AuditEntry.action == "cluster.posture.fix")
                                   .order_by(AuditEntry.id)).all()
    assert outcomes == ["ok", "noop"]


def test_tenant_roles_with_temp_create_or_statistics_fail_and_are_revoked(ctx, admin, loose, new_slug):
    database, url = loose
    role, group = f"tenant_{new_slug('pos')}", f"grp_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {r} NOLOGIN; CREATE ROLE {g} NOLOGIN; GRANT {g} TO {r}; "
                             "GRANT TEMPORARY ON DATABASE {d} TO {r}; GRANT CREATE ON DATABASE {d} TO {g}; "
                             "CREATE SCHEMA {s}; GRANT CREATE ON SCHEMA {s} TO {r}; GRANT pg_monitor TO {r}")
                     .format(r=sql.Identifier(role), g=sql.Identifier(group), d=sql.Identifier(database),
                             s=sql.Identifier(f"odd {role}")))
    try:
        found = {i.key: i for i in cluster_posture.check(ctx, admin, "loose").items}
        assert found["temporary"].status == "fail" and role in found["temporary"].explanation
        assert found["tenant_create"].status == "fail"
        assert f'REVOKE CREATE ON SCHEMA "odd {role}" FROM "{role}";' in found["tenant_create"].sql
        assert f'REVOKE CREATE ON DATABASE "{database}" FROM "{group}";' in found["tenant_create"].manual
        assert found["statement_stats"].status == "fail"
        assert f'REVOKE "pg_monitor" FROM "{role}";' in found["statement_stats"].sql

        result = cluster_posture.fix(ctx, admin, "loose")
        after = {i.key: i for i in result.after.items}
        assert after["temporary"].status == "ok" and after["statement_stats"].status == "ok"
        # the group's grant may serve other members: named with its SQL, never revoked by --fix
        assert after["tenant_create"].status == "fail"
        assert after["tenant_create"].sql == (f'REVOKE CREATE ON DATABASE "{database}" FROM "{group}";',)
    finally:  # roles are per server: leave no member of pg_monitor behind for other tests
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("REVOKE pg_monitor FROM {r}; REVOKE ALL ON DATABASE {d} FROM {g}")
                         .format(r=sql.Identifier(role), g=sql.Identifier(group), d=sql.Identifier(database)))


def test_provisioning_is_refused_then_allowed_with_the_override(cli, ctx, admin, loose, new_slug, tmp_path):
    refused, forced, batch = new_slug("unsafe"), new_slug("forced"), new_slug("batch")
    with pytest.raises(UnsafeCluster, match=r"fails its posture check.*clusters check loose --fix"):
        tenants.provision(ctx, admin, refused, "Refused Ltd", "team", cluster="loose")

    code, _, err = cli("tenants", "provision", refused, "--name", "Refused", "--plan", "team", "--cluster", "loose")
    assert code == 6 and err.count("\n") == 1 and "--allow-unsafe-cluster" in err
    with ctx.session_factory() as session:
        assert session.scalar(select(Tenant).where(Tenant.slug == refused)) is None  # nothing recorded

    code, out, err = cli("tenants", "provision", forced, "--name", "Forced", "--plan", "team", "--cluster", "loose",
                         "--allow-unsafe-cluster", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["cluster"] == "loose"
    with ctx.session_factory() as session:
        override = session.scalar(select(AuditEntry).where(AuditEntry.action == "tenant.provision.unsafe_cluster"))
    assert override.tenant_slug == forced and "public_create" in override.detail["failing"]

    rows = tmp_path / "rows.csv"
    rows.write_text(f"slug,name,plan,cluster\n{batch},Batch,team,loose\n")
    code, out, _ = cli("tenants", "provision-many", str(rows), "--format", "json")
    assert code == 1 and "fails its posture check" in out
    code, out, _ = cli("tenants", "provision-many", str(rows), "--format", "json", "--allow-unsafe-cluster")
    assert code == 0 and '"ok"' in out

    cluster_posture.fix(ctx, admin, "loose")  # fixed: allowed without the override (cache dropped by the fix)
    tenants.provision(ctx, admin, new_slug("safe"), "Safe Ltd", "team", cluster="loose")


def test_the_test_catalog_and_the_embedded_database_pass(cli, ctx, admin, pg_server):
    code, out, err = cli("clusters", "check", "default", "--format", "json")
    assert code == 0, out + err
    with psycopg.connect(libpq_url(pg_server.url()), autocommit=True) as conn:  # created by embedded.start
        report = cluster_posture.evaluate("embedded", adapter.read(conn), conn)
    assert report.failing == []


def test_clusters_add_registers_and_reports_the_failures(cli, loose):
    code, out, err = cli("clusters", "add", "loose2", "--url-env", URL_ENV, "--format", "json")
    assert code == 0 and json.loads(out)["name"] == "loose2"
    assert "posture fail" in err and 'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;' in err


def test_names_resolve_through_pg_catalog_only(ctx, admin, loose):
    """Functions planted in `public` (writable by PUBLIC here) under the names the check calls
    never run: everything is schema-qualified and the search path pinned."""
    database, url = loose
    with psycopg.connect(url, autocommit=True) as conn:
        for signature in ("current_setting(text)", "current_database()", "aclexplode(aclitem[])",
                          "pg_has_role(name, oid, text)", "acldefault(\"char\", oid)",
                          "set_config(text, text, boolean)"):
            conn.execute(f"CREATE FUNCTION public.{signature} RETURNS text LANGUAGE plpgsql AS "
                         "$$BEGIN RAISE EXCEPTION 'trap ran'; END$$")
        conn.execute(sql.SQL("ALTER DATABASE {} SET search_path = public, pg_catalog").format(sql.Identifier(database)))
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.RaiseException, match="trap ran"):
        conn.execute("SELECT current_setting('server_version')")  # the traps work on unqualified calls
    report = cluster_posture.check(ctx, admin, "loose")
    assert report.database and {i.key for i in report.failing} >= {"public_create", "temporary"}


@pytest.mark.parametrize("name", ["nope", "x'; DROP TABLE control_plane.tenants; --", "DEFAULT", "a" * 300,
                                  "\x1b[31mred", "ünïcode"])
def test_hostile_or_unknown_names_are_refused_in_one_line(cli, ctx, name):
    for argv in (("clusters", "check", name), ("clusters", "check", name, "--fix")):
        code, out, err = cli(*argv)
        assert code in (2, 3) and out == "" and err.count("\n") == 1, (code, out, err)
        assert "Traceback" not in err
    with ctx.session_factory() as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "cluster.posture.fix")) is None


def test_a_data_plane_login_reading_statistics_fails_and_is_revoked(ctx, admin, loose):
    """The data-plane logins are tenant-reachable (a tenant's SQL lands on its login with RESET
    ROLE; docs/security.md "Cluster posture"): pg_read_all_stats granted to one fails the check
    and `--fix` revokes it."""
    from control_plane.adapters.tenant_ddl import data_plane_logins, ensure_data_plane_login

    _, url = loose
    login = data_plane_logins()[-1]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ensure_data_plane_login(login))
        conn.execute(sql.SQL("GRANT pg_read_all_stats TO {}").format(sql.Identifier(login)))
    try:
        found = {i.key: i for i in cluster_posture.check(ctx, admin, "loose").items}
        assert found["statement_stats"].status == "fail" and login in found["statement_stats"].explanation
        after = {i.key: i for i in cluster_posture.fix(ctx, admin, "loose").after.items}
        assert after["statement_stats"].status == "ok"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("REVOKE pg_read_all_stats FROM {}").format(sql.Identifier(login)))
