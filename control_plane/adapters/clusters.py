"""Connections to the clusters that hold tenant schemas. URLs come from environment variables
named in the catalog (never stored there). The default cluster (its row names no variable) is its
own database: CP_CLUSTER_URL_DEFAULT, `control_plane_tenants` beside the embedded catalog, or, on
installs made before that, the catalog database itself (docs/operations.md "The default cluster").

Two kinds of connection per cluster:
- `connect()`: the catalog's own credentials, for DDL (provision, suspend, archive, …);
- `pool(url_env, slug)`: the data plane, logged in as the tenant's unprivileged data-plane login
  `cp_data_plane_NN` (one of 16, chosen by the slug; see docs/architecture.md "Data-plane logins"),
  for everything that runs inside `tenant_transaction`. Those logins own nothing and inherit
  nothing, so a `RESET ROLE` inside a tenant transaction lands on a role that can read neither the
  catalog nor any tenant's tables.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from control_plane.adapters import tenant_ddl
from control_plane.config import libpq_url  # noqa: F401 - imported from here by benches and tests
from control_plane.db import advisory_locks
from control_plane.db.connect_errors import connection_error, is_connection_lost, is_invalid_dsn, reason
from control_plane.db.privileged import privileged_conninfo
from control_plane.errors import ConfigError, DatabaseUnavailable

if TYPE_CHECKING:  # the pool is imported when the data plane first needs one, not by every command
    from psycopg_pool import ConnectionPool
    from sqlalchemy.orm import Session

DATA_PLANE_PASSWORD_ENV = "CP_DATA_PLANE_PASSWORD"  # noqa: S105 - the variable's name, not a password

# Every tenant role on this cluster and the data-plane logins (the legacy single one included) it
# is granted to: one read, whatever the fleet, to put each role in its own login's pool and nowhere
# else. Roles are per server, so this sees every database's tenant roles.
_DATA_PLANE_MEMBERSHIPS = """
SELECT r.rolname::pg_catalog.text,
       ARRAY(SELECT l.rolname::pg_catalog.text FROM pg_catalog.pg_auth_members m
               JOIN pg_catalog.pg_roles l ON l.oid OPERATOR(pg_catalog.=) m.member
              WHERE m.roleid OPERATOR(pg_catalog.=) r.oid
                AND (l.rolname OPERATOR(pg_catalog.~~) %(logins)s::pg_catalog.text
                     OR l.rolname OPERATOR(pg_catalog.=) %(legacy)s::pg_catalog.name))
  FROM pg_catalog.pg_roles r
 WHERE r.rolname OPERATOR(pg_catalog.~~) 'tenant\\_%%'::pg_catalog.text AND NOT r.rolcanlogin
"""
# What a data-plane login may not have: any attribute beyond LOGIN, inheritance of what it is
# granted, or membership of anything but tenant roles (it could SET ROLE into that).
_DATA_PLANE_PRIVILEGES = """
SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolinherit, r.rolbypassrls, r.rolreplication,
       ARRAY(SELECT g.rolname::text FROM pg_roles g JOIN pg_auth_members m ON g.oid = m.roleid
              WHERE m.member = r.oid AND g.rolname NOT LIKE 'tenant\\_%%' ORDER BY 1)
  FROM pg_roles r WHERE r.rolname = current_user
"""
_ATTRIBUTES = ("SUPERUSER", "CREATEROLE", "CREATEDB", "INHERIT", "BYPASSRLS", "REPLICATION")


DEFAULT_URL_ENV = "CP_CLUSTER_URL_DEFAULT"  # the default cluster's database, when not the embedded one


class ClusterConnections:
    def __init__(self, catalog_url: str, environ: Mapping[str, str] | None = None, *,
                 default_url: str | None = None) -> None:
        """`default_url`: the default cluster's database; None keeps it in the catalog database
        (installs from before the split, and DATABASE_URL without CP_CLUSTER_URL_DEFAULT)."""
        self.catalog_url = privileged_conninfo(catalog_url)
        self.default_url = privileged_conninfo(default_url) if default_url else self.catalog_url
        self._environ = environ if environ is not None else os.environ
        # Pools by cluster variable (and login), each with the URL it was opened for: a variable that
        # now names another database gets a new pool, and the old one is closed.
        self._pools: dict[tuple[str, str], tuple[str, ConnectionPool]] = {}
        self._prepared: set[str] = set()  # cluster URLs whose data-plane logins are ready
        self._ddl_pools: dict[str, tuple[str, ConnectionPool]] = {}
        self._lock = threading.Lock()

    def shares_catalog(self, url_env: str | None) -> bool:
        """Whether a cluster's tenant DDL can join the catalog's own transaction: only the default
        cluster, and only while it lives in the catalog database."""
        return url_env is None and self.default_url == self.catalog_url

    def _describe(self, url_env: str | None) -> tuple[str, str]:
        """(what is being reached, the setting to check) for error messages; never the URL itself."""
        if url_env is None and self.shares_catalog(None):
            return "the catalog database", "DATABASE_URL"
        if url_env is None:
            return "the default cluster's database", f"{DEFAULT_URL_ENV} (or the embedded default)"
        return f"the cluster in {url_env}", url_env

    def url_for(self, url_env: str | None) -> str:
        if url_env is None:
            return self.default_url
        url = self._environ.get(url_env)
        if not url:
            raise ConfigError(f"Cluster connection variable {url_env} is not set in this process's environment.")
        try:
            return privileged_conninfo(url)
        except psycopg.ProgrammingError as exc:
            # libpq's message quotes the value (a secret pasted by mistake): name the variable only.
            raise connection_error(exc, *self._describe(url_env)) from None

    @contextmanager
    def connect(self, url_env: str | None, **kwargs) -> Iterator[psycopg.Connection]:
        """A connection with the catalog's credentials. Failing to connect is a ConfigError when
        the settings are wrong and DatabaseUnavailable when the server is down; losing the
        server inside the block is DatabaseUnavailable too (exit 7, one line), on any cluster."""
        with _connected(self.url_for(url_env), *self._describe(url_env), **kwargs) as conn:
            yield conn

    @contextmanager
    def ddl_connection(self, url_env: str | None) -> Iterator[psycopg.Connection]:
        """An autocommit connection with the catalog's credentials from a small pool per cluster,
        for tenant DDL on the hot paths (provision, suspend, resume): a warm backend instead of
        a new one per call (a new connection and its cold catalog caches cost about as much again
        as the DDL, bench/README.md "Fleet scale"). It comes back to the pool reset (DISCARD ALL:
        session settings, temp objects, advisory locks) and is checked before it is handed out,
        so a restarted server costs a reconnect, not a failure; errors are those of `connect()`."""
        pool = self._ddl_pool(url_env)
        what, _ = self._describe(url_env)
        try:
            with pool.connection(timeout=10) as conn:  # connect_timeout of a direct connection
                yield conn
        except psycopg.OperationalError as exc:
            from psycopg_pool import PoolTimeout

            if isinstance(exc, PoolTimeout):
                raise DatabaseUnavailable(f"No connection to {what} within 10 s: the server does not answer, "
                                          "or every pooled connection is busy; run the command again.") from exc
            if is_connection_lost(exc):
                raise _lost(what, exc) from exc
            raise

    def _ddl_pool(self, url_env: str | None) -> ConnectionPool:
        conninfo = self.url_for(url_env)
        with self._lock:
            pool = _current(self._ddl_pools, url_env or "", conninfo)
            if pool is None:
                from psycopg_pool import ConnectionPool

                what, setting = self._describe(url_env)
                _open(conninfo, what, setting).close()  # the settings' errors, named, before a pool hides them
                pool = ConnectionPool(conninfo, min_size=1, max_size=8, open=True,
                                      check=ConnectionPool.check_connection,
                                      kwargs={"autocommit": True, "prepare_threshold": None, "connect_timeout": 10},
                                      reset=_discard_session)
                self._ddl_pools[url_env or ""] = (conninfo, pool)
            return pool

    @contextmanager
    def connect_catalog(self, **kwargs) -> Iterator[psycopg.Connection]:
        """A psycopg connection to the catalog database (advisory locks of runs and moves, the
        fleet's catalog scripts), wherever the default cluster's tenants live."""
        with _connected(self.catalog_url, "the catalog database", "DATABASE_URL", **kwargs) as conn:
            yield conn

    @contextmanager
    def for_ddl(self, session: Session, url_env: str | None) -> Iterator[psycopg.Connection]:
        """Where a service runs a tenant's DDL. On the catalog database it joins the session's own
        transaction (DDL and catalog change commit together); on another cluster it runs in a
        transaction of its own that commits first, so every statement used there must be safe
        to repeat (the catalog change follows, and a crash in between is finished by a re-run)."""
        if self.shares_catalog(url_env):
            yield session.connection().connection.driver_connection
            return
        with self.ddl_connection(url_env) as conn, conn.transaction():
            yield conn

    def data_plane_conninfo(self, url_env: str | None, login: str | None = None) -> str:
        """The cluster's URL with a data-plane login as user (the first one unless named) and the
        data-plane password (or none: trust auth in embedded mode, or libpq's PGPASSFILE)."""
        params = conninfo_to_dict(self.url_for(url_env))  # url_for names the variable of a bad URL
        params.pop("password", None)
        params["user"] = login or tenant_ddl.data_plane_logins()[0]
        params["application_name"] = "control_plane_data_plane"
        password = self._environ.get(DATA_PLANE_PASSWORD_ENV)
        if password:
            params["password"] = password
        return make_conninfo(**params)

    def conninfo_as(self, url_env: str | None, user: str, password: str) -> str:
        """The cluster's URL with another user and password (a tenant move's replication role):
        never the catalog's credentials, whatever the URL holds."""
        params = conninfo_to_dict(self.url_for(url_env))
        params.pop("passfile", None)
        params["user"], params["password"] = user, password
        return make_conninfo(**params)

    def pool(self, url_env: str | None, slug: str | None = None, *, max_size: int = 4) -> ConnectionPool:
        """The data plane's pool for tenant `slug` on a cluster (any tenant's login when None: a
        probe of the server): connections log in as the slug's data-plane login, never as the
        catalog user. The cluster's logins are made ready (created, each given its tenant roles
        and nothing else) before its first pool opens, and each login is checked to be
        unprivileged before its own pool opens."""
        login = tenant_ddl.data_plane_login(slug) if slug is not None else tenant_ddl.data_plane_logins()[0]
        cluster = self.url_for(url_env)
        key = (url_env or "", login)
        with self._lock:
            pool = _current(self._pools, key, cluster)
            if pool is None:
                from psycopg_pool import ConnectionPool

                if cluster not in self._prepared:
                    self._prepare_data_plane(url_env)
                    self._prepared.add(cluster)
                self._check_login(url_env, login)
                pool = ConnectionPool(self.data_plane_conninfo(url_env, login), min_size=1, max_size=max_size,
                                      open=True,
                                      # No server-side prepared statements: DISCARD ALL on return
                                      # drops them behind psycopg's back.
                                      kwargs={"autocommit": True, "prepare_threshold": None},
                                      reset=_discard_session)
                self._pools[key] = (cluster, pool)
            return pool

    def _prepare_data_plane(self, url_env: str | None) -> None:
        """Every data-plane login exists (with the data-plane password, as a SCRAM verifier made
        here, when one is set) and holds exactly the tenant roles whose slug maps to it: roles
        from before the logins existed are added, and the legacy single login (and a login
        holding another's tenant) loses them. One read and one transaction, whatever the fleet."""
        what, _ = self._describe(url_env)
        password = self._environ.get(DATA_PLANE_PASSWORD_ENV)
        try:
            with self.connect(url_env, autocommit=True) as admin, admin.transaction():
                advisory_locks.xact_lock(admin, advisory_locks.DATA_PLANE_PREPARE)
                logins = tenant_ddl.data_plane_logins()
                admin.execute(sql.Composed([tenant_ddl.ensure_data_plane_login(login) for login in logins]))
                if password:
                    admin.execute(sql.Composed([
                        sql.SQL("ALTER ROLE {} PASSWORD {};").format(
                            sql.Identifier(login), sql.Literal(_verifier(admin, login, password)))
                        for login in logins]))
                rows = admin.execute(_DATA_PLANE_MEMBERSHIPS, {"logins": tenant_ddl.DATA_PLANE_ROLE_PATTERN,
                                                               "legacy": tenant_ddl.LEGACY_DATA_PLANE_ROLE})
                grants, revokes = _membership_changes(rows.fetchall())
                for login, roles in sorted(grants.items()):
                    admin.execute(tenant_ddl.grant_roles_to_login(login, roles))
                for login, roles in sorted(revokes.items()):
                    admin.execute(tenant_ddl.revoke_roles_from_login(login, roles))
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ConfigError(f"The catalog's database user may not prepare the data-plane logins on {what} "
                              f"({exc.diag.message_primary}); it needs CREATEROLE, as for provisioning.") from exc

    def _check_login(self, url_env: str | None, login: str) -> None:
        what, setting = self._describe(url_env)
        with _open(self.data_plane_conninfo(url_env, login), f"{what} as {login}",
                   f"{DATA_PLANE_PASSWORD_ENV} and {setting}", autocommit=True) as conn:
            row = conn.execute(_DATA_PLANE_PRIVILEGES).fetchone()
        assert row is not None  # we are logged in as that role
        excess = [name for name, has in zip(_ATTRIBUTES, row[:6], strict=True) if has] + list(row[6])
        if excess:
            raise ConfigError(
                f"The data-plane login {login} on {what} has more rights than it may ({', '.join(excess)}): "
                f"it must be LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT and a member of tenant "
                f"roles only. Fix it with ALTER ROLE {login} … / REVOKE … FROM {login}.")

    def close(self) -> None:
        with self._lock:
            for _, pool in [*self._pools.values(), *self._ddl_pools.values()]:
                pool.close()
            self._pools.clear()
            self._ddl_pools.clear()
            self._prepared.clear()


def _current(pools: dict, key: Any, conninfo: str) -> ConnectionPool | None:
    """The pool under `key` if it was opened for `conninfo`; a stale one is closed and dropped."""
    entry = pools.get(key)
    if entry is None:
        return None
    if entry[0] == conninfo:
        return entry[1]
    del pools[key]
    entry[1].close()
    return None


def _membership_changes(rows: list[tuple[str, list[str]]]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(login -> roles to grant it, login -> roles to revoke from it) so that each tenant role
    belongs to its own login only."""
    grants: dict[str, list[str]] = {}
    revokes: dict[str, list[str]] = {}
    for role, members in rows:
        wanted = tenant_ddl.data_plane_login(tenant_ddl.slug_of_role(role))
        if wanted not in members:
            grants.setdefault(wanted, []).append(role)
        for login in members:
            if login != wanted:
                revokes.setdefault(login, []).append(role)
    return grants, revokes


def _verifier(conn: psycopg.Connection, login: str, password: str) -> str:
    """The password as PostgreSQL stores it (SCRAM-SHA-256, salted), computed by libpq here: the
    statement that sets it carries no plaintext, so no log or statistics can show the password."""
    return conn.pgconn.encrypt_password(password.encode(), login.encode(), b"scram-sha-256").decode()


def _discard_session(conn: psycopg.Connection) -> None:
    """A data-plane connection goes back to the pool with nothing a tenant's SQL left on it: no
    session-level SET (role, search_path, …), temp table, prepared statement, advisory lock or
    LISTEN. SET LOCAL already ends with each transaction; this covers plain SET and the rest."""
    conn.execute("DISCARD ALL")


@contextmanager
def _connected(conninfo: str, what: str, setting: str, **kwargs) -> Iterator[psycopg.Connection]:
    conn = _open(conninfo, what, setting, **kwargs)
    try:
        with conn:
            yield conn
    except psycopg.OperationalError as exc:
        if is_connection_lost(exc, conn):
            raise _lost(what, exc) from exc
        raise


def _lost(what: str, exc: psycopg.OperationalError) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"Lost the connection to {what}: {reason(exc)}. Its open transaction "
                               "was rolled back; run the command again when it is back.")


def _open(conninfo: str, what: str, setting: str, **kwargs) -> psycopg.Connection:
    try:
        return psycopg.connect(conninfo, connect_timeout=10, **kwargs)
    except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
        # An unparsable URL's error quotes it, password included: do not chain that one.
        raise connection_error(exc, what, setting) from (None if is_invalid_dsn(exc) else exc)
