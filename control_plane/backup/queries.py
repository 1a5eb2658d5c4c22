"""What a backup reads: the catalog's tables, the tenants the catalog places on a cluster and the
tenant schemas that cluster holds. One statement each, whatever the number of tenants; every name
schema-qualified (the connections pin search_path = pg_catalog, pg_temp)."""

from __future__ import annotations

import psycopg

CATALOG_SCHEMA = "control_plane"
# Tenants whose schema should exist on their cluster (lifecycle.md "States and transitions").
WITH_SCHEMA = ["provisioning", "active", "suspended", "archiving"]

_CATALOG_TABLES = """
SELECT c.relname::pg_catalog.text FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE n.nspname OPERATOR(pg_catalog.=) %s::pg_catalog.name
   AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog."char"[])
 ORDER BY 1
"""
_PLACED = """
SELECT t.slug FROM control_plane.tenants t
 WHERE t.cluster_name OPERATOR(pg_catalog.=) %s::pg_catalog.text
   AND t.status::pg_catalog.text OPERATOR(pg_catalog.=) ANY (%s::pg_catalog.text[])
 ORDER BY t.slug
"""
_TENANT_SCHEMAS = """
SELECT n.nspname::pg_catalog.text FROM pg_catalog.pg_namespace n
 WHERE n.nspname OPERATOR(pg_catalog.~~) 'tenant\\_%%'::pg_catalog.text
"""
_SCHEMA_TABLES = """
SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE n.nspname OPERATOR(pg_catalog.=) ANY (%s::pg_catalog.name[])
   AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog."char"[])
"""
_SERVER_MAJOR = "SELECT pg_catalog.current_setting('server_version_num')::pg_catalog.int4 / 10000"
# The shared lock table's size: what every session's locks together may hold.
_LOCK_SLOTS = """
SELECT pg_catalog.current_setting('max_locks_per_transaction')::pg_catalog.int4
       * (pg_catalog.current_setting('max_connections')::pg_catalog.int4
          + pg_catalog.current_setting('max_prepared_transactions')::pg_catalog.int4)
"""


def catalog_tables(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(_CATALOG_TABLES, (CATALOG_SCHEMA,))]


def placed_slugs(conn: psycopg.Connection, cluster: str) -> list[str]:
    return [r[0] for r in conn.execute(_PLACED, (cluster, WITH_SCHEMA))]


def tenant_schemas(conn: psycopg.Connection) -> set[str]:
    return {r[0] for r in conn.execute(_TENANT_SCHEMAS)}


def server_major(conn: psycopg.Connection) -> int:
    return int(conn.execute(_SERVER_MAJOR).fetchone()[0])


def lock_slots(conn: psycopg.Connection) -> int:
    return int(conn.execute(_LOCK_SLOTS).fetchone()[0])


def schema_tables(conn: psycopg.Connection, schemas: list[str]) -> list[tuple[str, str]]:
    """(schema, table) of the tables in `schemas`: one statement for a whole part."""
    return [(r[0], r[1]) for r in conn.execute(_SCHEMA_TABLES, (schemas,))]
