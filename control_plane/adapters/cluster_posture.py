"""A cluster's security posture read from pg_catalog in one statement (whatever the number of
tenants): who may create or use temp objects in the connected database, who reads every session's
statement statistics, and the settings that backups and moves depend on.

"Tenant-reachable" roles are the tenant roles (NOLOGIN `tenant_%`), the data-plane logins
(`cp_data_plane_NN` and the legacy `cp_data_plane`: a tenant's SQL reaches its login with RESET
ROLE) and every role those are members of, transitively. Everything is schema-qualified and the
transaction pins `search_path = pg_catalog, pg_temp`, so nothing here resolves through a schema a
tenant can write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from control_plane.adapters.tenant_ddl import DATA_PLANE_ROLE_PATTERN, LEGACY_DATA_PLANE_ROLE

PIN_SEARCH_PATH = "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true)"

_POSTURE = """
WITH RECURSIVE
reach(oid, rolname, direct) AS (
    SELECT r.oid, r.rolname, true FROM pg_catalog.pg_roles r
     WHERE (r.rolname OPERATOR(pg_catalog.~~) 'tenant\\_%%'::pg_catalog.text AND NOT r.rolcanlogin)
        OR r.rolname OPERATOR(pg_catalog.=) %(data_plane)s::pg_catalog.name
        OR r.rolname OPERATOR(pg_catalog.~~) %(data_plane_logins)s::pg_catalog.text
    UNION
    SELECT g.oid, g.rolname, false
      FROM reach JOIN pg_catalog.pg_auth_members m ON m.member OPERATOR(pg_catalog.=) reach.oid
      JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) m.roleid
     WHERE NOT (g.rolname OPERATOR(pg_catalog.~~) 'tenant\\_%%'::pg_catalog.text)
),
stats_members(oid, via) AS (
    SELECT m.member, m.roleid FROM pg_catalog.pg_auth_members m
      JOIN pg_catalog.pg_roles p ON p.oid OPERATOR(pg_catalog.=) m.roleid
     WHERE p.rolname OPERATOR(pg_catalog.=) 'pg_read_all_stats'::pg_catalog.name
    UNION
    SELECT m.member, m.roleid FROM stats_members s
      JOIN pg_catalog.pg_auth_members m ON m.roleid OPERATOR(pg_catalog.=) s.oid
),
db AS (
    SELECT d.oid, d.datname, d.datdba,
           COALESCE(d.datacl, pg_catalog.acldefault('d'::pg_catalog."char", d.datdba)) AS acl
      FROM pg_catalog.pg_database d WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
),
db_grants AS (
    SELECT a.grantee, a.privilege_type FROM db, LATERAL pg_catalog.aclexplode(db.acl) a
     WHERE a.privilege_type OPERATOR(pg_catalog.=) ANY ('{CREATE,TEMPORARY}'::pg_catalog.text[])
),
schema_create AS (
    SELECT n.nspname, n.nspowner, a.grantee
      FROM pg_catalog.pg_namespace n,
           LATERAL pg_catalog.aclexplode(COALESCE(
               n.nspacl, pg_catalog.acldefault('n'::pg_catalog."char", n.nspowner))) a
     WHERE a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'::pg_catalog.text
)
SELECT
    pg_catalog.current_database() AS database,
    pg_catalog.current_setting('server_version') AS server_version,
    pg_catalog.current_setting('server_version_num')::pg_catalog.int4 AS server_version_num,
    pg_catalog.current_setting('wal_level') AS wal_level,
    pg_catalog.current_setting('max_locks_per_transaction')::pg_catalog.int4 AS max_locks_per_transaction,
    pg_catalog.current_setting('max_connections')::pg_catalog.int4 AS max_connections,
    pg_catalog.current_setting('max_prepared_transactions')::pg_catalog.int4 AS max_prepared_transactions,
    CURRENT_USER::pg_catalog.text AS current_user,
    (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
        AS current_user_super,
    -- the catalog user keeps TEMPORARY (our imports use temp tables) once PUBLIC loses it
    EXISTS (SELECT 1 FROM db_grants g
             WHERE g.privilege_type OPERATOR(pg_catalog.=) 'TEMPORARY'::pg_catalog.text
               AND g.grantee OPERATOR(pg_catalog.<>) '0'::pg_catalog.oid
               AND pg_catalog.pg_has_role(CURRENT_USER, g.grantee, 'USAGE')) AS current_user_keeps_temp,
    ARRAY(SELECT g.privilege_type FROM db_grants g WHERE g.grantee OPERATOR(pg_catalog.=) '0'::pg_catalog.oid
           ORDER BY 1) AS public_database_privileges,
    ARRAY(SELECT s.nspname::pg_catalog.text FROM schema_create s
           WHERE s.grantee OPERATOR(pg_catalog.=) '0'::pg_catalog.oid ORDER BY 1) AS public_create_schemas,
    ARRAY(SELECT pg_catalog.jsonb_build_object('role', r.rolname::pg_catalog.text, 'privilege', g.privilege_type,
                                               'direct', r.direct)
            FROM db_grants g JOIN reach r ON r.oid OPERATOR(pg_catalog.=) g.grantee
           ORDER BY r.rolname, g.privilege_type) AS reachable_database_grants,
    ARRAY(SELECT pg_catalog.jsonb_build_object('role', r.rolname::pg_catalog.text,
                                               'schema', s.nspname::pg_catalog.text, 'direct', r.direct,
                                               'owner', s.nspowner OPERATOR(pg_catalog.=) s.grantee)
            FROM schema_create s JOIN reach r ON r.oid OPERATOR(pg_catalog.=) s.grantee
           ORDER BY r.rolname, s.nspname) AS reachable_schema_create,
    EXISTS (SELECT 1 FROM pg_catalog.pg_extension e
             WHERE e.extname OPERATOR(pg_catalog.=) 'pg_stat_statements'::pg_catalog.name) AS stat_statements_installed,
    ARRAY(SELECT pg_catalog.jsonb_build_object('role', r.rolname::pg_catalog.text, 'via', v.rolname::pg_catalog.text,
                                               'superuser', r.rolsuper,
                                               'reachable', EXISTS (SELECT 1 FROM reach x
                                                                     WHERE x.oid OPERATOR(pg_catalog.=) r.oid))
            FROM stats_members s JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) s.oid
            JOIN pg_catalog.pg_roles v ON v.oid OPERATOR(pg_catalog.=) s.via
           WHERE NOT r.rolname OPERATOR(pg_catalog.~~) 'pg\\_%%'::pg_catalog.text
           ORDER BY r.rolname, v.rolname) AS stats_readers,
    (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
      WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,S,i,m}'::pg_catalog."char"[])
        AND n.nspname OPERATOR(pg_catalog.<>) ALL ('{pg_catalog,information_schema,pg_toast}'::pg_catalog.name[])
        AND NOT n.nspname OPERATOR(pg_catalog.~~) 'pg\\_temp\\_%%'::pg_catalog.text
        AND NOT n.nspname OPERATOR(pg_catalog.~~) 'pg\\_toast\\_temp\\_%%'::pg_catalog.text)
        AS dumped_relations
"""


@dataclass(frozen=True)
class RawPosture:
    """What `read` found, as pg_catalog states it (interpretation: services/cluster_posture.py)."""

    database: str
    server_version: str
    server_version_num: int
    wal_level: str
    max_locks_per_transaction: int
    max_connections: int
    max_prepared_transactions: int
    current_user: str
    current_user_super: bool
    current_user_keeps_temp: bool
    public_database_privileges: list[str]
    public_create_schemas: list[str]
    reachable_database_grants: list[dict[str, Any]]
    reachable_schema_create: list[dict[str, Any]]
    stat_statements_installed: bool
    stats_readers: list[dict[str, Any]]
    dumped_relations: int


def read(conn: psycopg.Connection) -> RawPosture:
    """One statement, inside a transaction of its own (or the caller's): the search path is pinned
    for that transaction only."""
    with conn.transaction():
        conn.execute(PIN_SEARCH_PATH)
        cur = conn.execute(_POSTURE, {"data_plane": LEGACY_DATA_PLANE_ROLE,
                                       "data_plane_logins": DATA_PLANE_ROLE_PATTERN})
        row = cur.fetchone()
        assert row is not None and cur.description is not None
        return RawPosture(**{col.name: value for col, value in zip(cur.description, row, strict=True)})


# --- statements the fix runs (identifiers quoted, never formatted) -----------------------------

def revoke_schema_create(schema: str, roles: list[str] | None = None) -> sql.Composed:
    """REVOKE CREATE ON SCHEMA s FROM PUBLIC (roles None) or from the named roles."""
    return sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(sql.Identifier(schema), _grantees(roles))


def revoke_database(privileges: list[str], database: str, roles: list[str] | None = None) -> sql.Composed:
    return sql.SQL("REVOKE {} ON DATABASE {} FROM {}").format(
        sql.SQL(", ").join(sql.SQL(_PRIVILEGE[p]) for p in privileges), sql.Identifier(database), _grantees(roles))


def grant_temporary(database: str, role: str) -> sql.Composed:
    return sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(sql.Identifier(database), sql.Identifier(role))


def revoke_membership(group: str, member: str) -> sql.Composed:
    return sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), sql.Identifier(member))


def alter_schema_owner(schema: str, role: str) -> sql.Composed:
    return sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(schema), sql.Identifier(role))


_PRIVILEGE = {"CREATE": "CREATE", "TEMPORARY": "TEMPORARY"}


def _grantees(roles: list[str] | None) -> sql.Composable:
    if roles is None:
        return sql.SQL("PUBLIC")
    return sql.SQL(", ").join(sql.Identifier(r) for r in roles)


def text_of(statement: sql.Composable, conn: psycopg.Connection | None = None) -> str:
    """The statement as an operator would type it."""
    return statement.as_string(conn) + ";"
