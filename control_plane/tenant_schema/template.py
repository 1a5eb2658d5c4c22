"""The tenant schema at a given template version, as one script: revision 1 up to it."""

from __future__ import annotations

from psycopg import sql

from control_plane.adapters import tenant_ddl
from control_plane.tenant_schema.revisions import DEFAULT, Catalog


def body(schema: str, version: int, catalog: Catalog = DEFAULT) -> sql.Composed:
    catalog.check(version)
    return sql.Composed([part for r in catalog.revisions[:version] for part in (r.forward(schema), sql.SQL(" "))])


def create_schema(schema: str, version: int | None = None, catalog: Catalog = DEFAULT) -> sql.Composed:
    """CREATE SCHEMA plus every revision up to `version` (default the latest) and the comment."""
    version = catalog.latest if version is None else version
    return tenant_ddl.create_template_schema(schema, body(schema, version, catalog), version)
