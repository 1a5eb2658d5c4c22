"""What exists on a cluster: schemas, roles, privileges. Parameterised queries only."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from control_plane.adapters.tenant_ddl import TEMPLATE_TABLES, comment_version
from control_plane.domain.slugs import role_name, schema_name


@dataclass(frozen=True)
class TenantObjects:
    schema_exists: bool
    role_exists: bool
    template_version: int | None
    tables: frozenset[str]
    role_can_read: bool  # false while suspended

    @property
    def complete(self) -> bool:
        return self.schema_exists and self.role_exists and set(TEMPLATE_TABLES) <= self.tables


# One tenant's schema, role, version, read right and tables; the tables through pg_depend's index on
# the namespace, never a scan of pg_class (tests/integration/test_catalog_index_paths.py).
INSPECT_TENANT = """
SELECT n.oid IS NOT NULL,
       r.oid IS NOT NULL,
       obj_description(n.oid, 'pg_namespace'),
       CASE WHEN r.oid IS NOT NULL AND to_regclass(quote_ident(%s) || '.users') IS NOT NULL
            THEN has_table_privilege(r.rolname, to_regclass(quote_ident(%s) || '.users'), 'SELECT')
            ELSE false END,
       COALESCE((SELECT array_agg(c.relname::text)
                   FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
                  WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = n.oid
                    AND d.classid = 'pg_class'::regclass AND d.deptype = 'n'
                    AND c.relkind = 'r'), '{}')
  FROM (SELECT 1) AS one
  LEFT JOIN pg_namespace n ON n.nspname = %s
  LEFT JOIN pg_roles r ON r.rolname = %s
"""


def inspect_tenant(conn: psycopg.Connection, slug: str) -> TenantObjects:
    schema, role = schema_name(slug), role_name(slug)
    row = conn.execute(INSPECT_TENANT, (schema, schema, schema, role)).fetchone()
    assert row is not None
    return TenantObjects(
        schema_exists=row[0], role_exists=row[1], template_version=comment_version(row[2]),
        role_can_read=row[3], tables=frozenset(row[4]),
    )
