"""SET LOCAL ROLE / search_path never leak: thousands of concurrent transactions of two tenants
forced through one pooled connection."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from control_plane.adapters.clusters import ClusterConnections, libpq_url
from control_plane.adapters.tenant_context import tenant_session, tenant_transaction
from control_plane.adapters.tenant_ddl import LEGACY_DATA_PLANE_ROLE, data_plane_login, data_plane_logins
from control_plane.db import privileged
from control_plane.errors import ConfigError, ControlPlaneError
from tests.factories import make_tenant

ITERATIONS_PER_THREAD = 800
THREADS = 4


class Boom(Exception):
    pass


def same_login(new_slug, prefix: str, count: int = 2) -> list[str]:
    """`count` fresh slugs whose tenants share one data-plane login (16 logins: a few tries)."""
    by_login: dict[str, list[str]] = {}
    while True:
        slug = new_slug(prefix)
        group = by_login.setdefault(data_plane_login(slug), [])
        group.append(slug)
        if len(group) == count:
            return group


def other_login(new_slug, prefix: str, than: str) -> str:
    while data_plane_login(slug := new_slug(prefix)) == data_plane_login(than):
        pass
    return slug


def test_two_tenants_through_one_pooled_connection_never_see_each_other(ctx, new_slug):
    a, b = new_slug("ctxa"), new_slug("ctxb")
    for slug in (a, b):
        make_tenant(ctx, slug)
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as conn:
        for slug in (a, b):
            with tenant_transaction(conn, slug) as t:
                t.execute("INSERT INTO events (kind) SELECT %s FROM generate_series(1, 3)", (slug,))
        owner = conn.execute("SELECT current_user").fetchone()[0]
        default_path = conn.execute("SELECT current_setting('search_path')").fetchone()[0]

    pool = ConnectionPool(libpq_url(ctx.catalog_url), min_size=1, max_size=1, kwargs={"autocommit": True},
                          open=True)
    backends: set[int] = set()
    counts = {"tenant": 0, "plain": 0, "rolled_back": 0}
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(ITERATIONS_PER_THREAD):
            slug = (a, b)[(n + i) % 2]
            if i % 7 == 3:
                with pool.connection() as plain:  # what the next borrower sees
                    user, path, pid = plain.execute(
                        "SELECT current_user, current_setting('search_path'), pg_backend_pid()").fetchone()
                    assert (user, path) == (owner, default_path), (user, path)
                    with lock:
                        counts["plain"] += 1
                        backends.add(pid)
                continue
            try:
                with tenant_session(pool, slug, statement_timeout_ms=5000) as t:
                    user, path = t.execute("SELECT current_user, current_setting('search_path')").fetchone()
                    assert user == f"tenant_{slug}" and path == f"tenant_{slug}, pg_temp", (slug, user, path)
                    kinds = {row[0] for row in t.execute("SELECT DISTINCT kind FROM events")}
                    assert kinds == {slug}, (slug, kinds)
                    if i % 11 == 5:
                        raise Boom  # rollback path must not leak either
                    with lock:
                        counts["tenant"] += 1
            except Boom:
                with lock:
                    counts["rolled_back"] += 1

    with ThreadPoolExecutor(THREADS) as executor:
        for future in [executor.submit(worker, n) for n in range(THREADS)]:
            future.result()
    pool.close()

    assert len(backends) == 1  # every transaction went through the same physical connection
    total = counts["tenant"] + counts["plain"] + counts["rolled_back"]
    assert total == THREADS * ITERATIONS_PER_THREAD and counts["rolled_back"] > 100 and counts["plain"] > 300


def test_tenant_transaction_refuses_an_open_outer_transaction(ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    with psycopg.connect(libpq_url(ctx.catalog_url)) as conn:  # not autocommit
        conn.execute("SELECT 1")  # opens a transaction
        with pytest.raises(ControlPlaneError, match="no open transaction"):
            with tenant_transaction(conn, slug):
                pass


def test_statement_timeout_is_local(ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled):
            with tenant_transaction(conn, slug, statement_timeout_ms=50) as t:
                t.execute("SELECT pg_sleep(2)")
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "0"


def test_reset_role_inside_a_tenant_transaction_lands_on_an_unprivileged_role(ctx, new_slug):
    """Issue 10: the data plane's pool logs in as the tenant's cp_data_plane_NN (NOINHERIT, no
    attributes), so a RESET ROLE inside tenant_transaction can read neither the catalog nor any
    tenant's tables."""
    a, b = same_login(new_slug, "dpa")
    for slug in (a, b):
        make_tenant(ctx, slug)
    pool = ctx.clusters.pool(None, a)
    with pool.connection() as conn:
        user, superuser, inherit, createrole, createdb = conn.execute(
            "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname = session_user").fetchone()
        assert user == data_plane_login(a) and not (superuser or inherit or createrole or createdb)
        denied = [
            "SELECT count(*) FROM control_plane.tenants",
            "SELECT count(*) FROM control_plane.users",
            f'SELECT count(*) FROM "tenant_{b}".users',
            f'SELECT count(*) FROM "tenant_{a}".users',  # NOINHERIT: not even the tenant it just left
            "CREATE TABLE public.cp_probe (x int)",
        ]
        for n, statement in enumerate(denied):
            with tenant_transaction(conn, a) as t:  # the tenant role works (team names are unique)
                t.execute("INSERT INTO teams (name) VALUES (%s)", (f"{n}: {statement[:40]}",))
                t.execute("RESET ROLE")
                assert t.execute("SELECT current_user").fetchone()[0] == data_plane_login(a)
                with pytest.raises(psycopg.errors.InsufficientPrivilege), t.transaction():  # a savepoint
                    t.execute(statement)


def test_what_a_shared_data_plane_login_allows_is_what_docs_security_says(ctx, new_slug):
    """docs/security.md "What a shared data-plane login means": SQL injected into tenant A's
    transaction can RESET ROLE and SET ROLE into tenant B of the same login, so the tenant boundary
    is the application's choice of tenant; it cannot enter tenant C of another login, nor act as
    the catalog user."""
    a, b = same_login(new_slug, "sha")
    c = other_login(new_slug, "shc", a)
    for slug in (a, b, c):
        make_tenant(ctx, slug)
    with ctx.clusters.pool(None, a).connection() as conn, tenant_transaction(conn, a) as t:
        t.execute(f'RESET ROLE; SET ROLE "tenant_{b}"')
        assert t.execute(f'SELECT count(*) FROM "tenant_{b}".users').fetchone()[0] == 0  # B is readable
        for role in (f"tenant_{c}", "postgres"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), t.transaction():
                t.execute(f'SET ROLE "{role}"')


def test_the_data_plane_refuses_a_role_with_more_rights_than_it_may_have(ctx, database_url, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    login = data_plane_login(slug)
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
        admin.execute(f"ALTER ROLE {login} INHERIT")
        try:
            connections = ClusterConnections(database_url)
            with pytest.raises(ConfigError, match=f"{login} .*INHERIT"):
                connections.pool(None, slug)
            connections.close()
        finally:
            admin.execute(f"ALTER ROLE {login} NOINHERIT")


def test_tenants_provisioned_before_the_data_plane_role_are_given_to_it(ctx, database_url, new_slug):
    """Upgrades: a tenant role without the membership (made before this release) gets it when the
    data-plane pool for its cluster opens, so the health sweep keeps reaching it."""
    slug = new_slug("old")
    make_tenant(ctx, slug)
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
        admin.execute(f'REVOKE "tenant_{slug}" FROM {data_plane_login(slug)}')
    connections = ClusterConnections(database_url)
    try:
        with connections.pool(None, slug).connection() as conn, tenant_transaction(conn, slug) as t:
            assert t.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    finally:
        connections.close()


def test_a_catalog_user_that_cannot_prepare_the_data_plane_gets_a_clear_error(ctx, database_url, new_slug):
    """The health sweep handles ControlPlaneError per cluster; a raw psycopg error would stop it."""
    slug, weak = new_slug("nomember"), f"weak_{new_slug()}"
    make_tenant(ctx, slug)
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
        admin.execute(f'REVOKE "tenant_{slug}" FROM {data_plane_login(slug)}')
        admin.execute(f'CREATE ROLE "{weak}" LOGIN')
    connections = ClusterConnections(database_url.replace("postgres@", f"{weak}@", 1))
    try:
        with pytest.raises(ConfigError, match="needs CREATEROLE"):
            connections.pool(None)
    finally:
        connections.close()
        with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
            admin.execute(f'GRANT "tenant_{slug}" TO {data_plane_login(slug)}')


def test_a_temp_table_of_one_tenant_never_captures_another_tenants_writes(ctx, new_slug):
    """Tenant A, allowed TEMP here as on a database that still grants it to PUBLIC, leaves a temp
    `users` open to everyone on a data-plane session; tenant B's next INSERT INTO users on that
    same session lands in B's own table (pg_temp is searched last, docs/security.md)."""
    a, b = same_login(new_slug, "tmp")
    for slug in (a, b):
        make_tenant(ctx, slug)
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
        database = admin.execute("SELECT current_database()").fetchone()[0]
        admin.execute(f'GRANT TEMPORARY ON DATABASE "{database}" TO "tenant_{a}"')
    try:
        with psycopg.connect(ctx.clusters.data_plane_conninfo(None, data_plane_login(a)), autocommit=True) as conn:
            with tenant_transaction(conn, a) as t:
                t.execute("CREATE TEMP TABLE users (email text, full_name text) ON COMMIT PRESERVE ROWS")
                t.execute("GRANT ALL ON pg_temp.users TO PUBLIC")
            with tenant_transaction(conn, b) as t:
                t.execute("INSERT INTO users (email, full_name) VALUES ('b@b.io', 'B')")
            with tenant_transaction(conn, a) as t:
                assert t.execute("SELECT count(*) FROM pg_temp.users").fetchone()[0] == 0
            with tenant_transaction(conn, b) as t:
                assert t.execute("SELECT email FROM users").fetchall() == [("b@b.io",)]
    finally:
        with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
            admin.execute(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM "tenant_{a}"')


def test_a_pooled_connection_comes_back_with_nothing_a_tenant_left_on_it(ctx, new_slug):
    """Plain SET, temp tables and advisory locks from a tenant's transaction are gone for the next
    borrower of the data-plane pool (DISCARD ALL on return)."""
    slug = new_slug("pool")
    make_tenant(ctx, slug)
    clusters = ClusterConnections(ctx.catalog_url)
    try:
        pool = clusters.pool(None, slug, max_size=1)
        with pool.connection() as plain:
            default_path = plain.execute("SELECT current_setting('search_path')").fetchone()[0]
        with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
            database = admin.execute("SELECT current_database()").fetchone()[0]
            admin.execute(f'GRANT TEMPORARY ON DATABASE "{database}" TO "tenant_{slug}"')
        try:
            with tenant_session(pool, slug) as t:
                t.execute("CREATE TEMP TABLE left_behind (x int) ON COMMIT PRESERVE ROWS")
                t.execute("SET search_path TO public")  # plain SET: outlives the transaction
                t.execute("SELECT pg_advisory_lock(42)")
        finally:
            with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
                admin.execute(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM "tenant_{slug}"')
        with pool.connection() as plain:
            user, path, temp_tables, locks = plain.execute(
                "SELECT current_user, current_setting('search_path'), "
                "(SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()), "
                "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())").fetchone()
        assert (user, path, temp_tables, locks) == (data_plane_login(slug), default_path, 0, 0)
        assert default_path == privileged.SEARCH_PATH
    finally:
        clusters.close()


MEMBERSHIPS = """
SELECT l.rolname FROM pg_auth_members m JOIN pg_roles l ON l.oid = m.member
 WHERE m.roleid = %s::regrole AND (l.rolname LIKE 'cp\\_data\\_plane%%')
 ORDER BY 1
"""


def test_each_tenant_role_belongs_to_its_own_login_only(ctx, database_url, new_slug):
    """docs/architecture.md "Data-plane logins": provisioning grants a tenant role to the login its
    slug hashes to, and nothing else; when a cluster's first pool opens, a role held by the wrong
    login or by the single login of earlier releases is moved to its own, so each login's
    membership list (rebuilt after every role change) holds about a sixteenth of the fleet."""
    fresh, moved, legacy = new_slug("own"), new_slug("mvd"), new_slug("leg")
    for slug in (fresh, moved, legacy):
        make_tenant(ctx, slug)
    wrong = next(login for login in data_plane_logins() if login != data_plane_login(moved))
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
        assert [r for (r,) in admin.execute(MEMBERSHIPS, (f"tenant_{fresh}",))] == [data_plane_login(fresh)]
        admin.execute(f'REVOKE "tenant_{moved}" FROM {data_plane_login(moved)}; GRANT "tenant_{moved}" TO {wrong}')
        admin.execute(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{LEGACY_DATA_PLANE_ROLE}') "
                      f"THEN CREATE ROLE {LEGACY_DATA_PLANE_ROLE} LOGIN NOINHERIT; END IF; END $$")
        admin.execute(f'GRANT "tenant_{legacy}" TO {LEGACY_DATA_PLANE_ROLE}')
        connections = ClusterConnections(database_url)
        try:
            connections.pool(None)
            for slug in (fresh, moved, legacy):
                assert [r for (r,) in admin.execute(MEMBERSHIPS, (f"tenant_{slug}",))] == [data_plane_login(slug)]
            with connections.pool(None, moved).connection() as conn, tenant_transaction(conn, moved) as t:
                assert t.execute("SELECT count(*) FROM users").fetchone()[0] == 0
        finally:
            connections.close()


def test_the_data_plane_password_is_stored_as_a_verifier_of_that_password(ctx, database_url, new_slug):
    """CP_DATA_PLANE_PASSWORD is set on every login as a SCRAM-SHA-256 verifier made in the process
    (no plaintext in the statement); it proves the very password the pools then send."""
    slug, password = new_slug("pw"), f"dp-{new_slug()}-secret"
    make_tenant(ctx, slug)
    connections = ClusterConnections(database_url, {"CP_DATA_PLANE_PASSWORD": password})
    try:
        connections.pool(None, slug)
        assert f"password={password}" in connections.data_plane_conninfo(None, data_plane_login(slug))
    finally:
        connections.close()
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
        stored = dict(admin.execute("SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY(%s)",
                                    (data_plane_logins(),)).fetchall())
        admin.execute(sql_reset_passwords())
    assert sorted(stored) == data_plane_logins()
    for verifier in stored.values():
        assert verifier.startswith("SCRAM-SHA-256$") and password not in verifier
        assert scram_proves(verifier, password) and not scram_proves(verifier, password + "x")


def sql_reset_passwords() -> str:
    return "; ".join(f"ALTER ROLE {login} PASSWORD NULL" for login in data_plane_logins())


def scram_proves(verifier: str, password: str) -> bool:
    """RFC 5802/7677: StoredKey = H(HMAC(SaltedPassword, "Client Key"))."""
    import base64
    import hashlib
    import hmac

    head, keys = verifier.split("$", 1)[1].split("$")
    iterations, salt = head.split(":")
    stored_key = base64.b64decode(keys.split(":")[0])
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key)


def test_processes_starting_together_prepare_the_logins_one_at_a_time(ctx, database_url, new_slug):
    """The app and the worker start at once: each sets the password on every login and grants the
    roles that lack one; without the DATA_PLANE_PREPARE lock, two ALTER ROLEs of one role collide
    ("tuple concurrently updated") and two GRANTs of one membership too."""
    slugs = [new_slug("race") for _ in range(6)]
    for slug in slugs:
        make_tenant(ctx, slug)
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
        for slug in slugs:
            admin.execute(f'REVOKE "tenant_{slug}" FROM {data_plane_login(slug)}')
    barrier = threading.Barrier(6)
    environ = {"CP_DATA_PLANE_PASSWORD": f"race-{new_slug()}-secret"}

    def start() -> None:
        connections = ClusterConnections(database_url, environ)
        try:
            barrier.wait(timeout=60)
            connections.pool(None)
        finally:
            connections.close()

    try:
        with ThreadPoolExecutor(6) as executor:
            for future in [executor.submit(start) for _ in range(6)]:
                future.result()
        with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
            for slug in slugs:
                assert [r for (r,) in admin.execute(MEMBERSHIPS, (f"tenant_{slug}",))] == [data_plane_login(slug)]
    finally:
        with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as admin:
            admin.execute(sql_reset_passwords())
