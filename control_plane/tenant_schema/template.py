"""The tenant schema at a given template version, as one script: revision 1 up to it."""

from __future__ import annotations

from psycopg import sql

from control_plane.adapters import tenant_ddl
from control_plane.domain.slugs import schema_name
from control_plane.tenant_schema.revisions import DEFAULT, Catalog


def body(schema: str, version: int, catalog: Catalog = DEFAULT) -> sql.Composed:
    catalog.check(version)
    return sql.Composed([part for r in catalog.revisions[:version] for part in (r.forward(schema), sql.SQL(" "))])


def create_schema(schema: str, version: int | None = None, catalog: Catalog = DEFAULT) -> sql.Composed:
    """CREATE SCHEMA plus every revision up to `version` (default the latest) and the comment."""
    version = catalog.latest if version is None else version
    return tenant_ddl.create_template_schema(schema, body(schema, version, catalog), version)


def provision_script(slug: str, version: int | None = None, catalog: Catalog = DEFAULT) -> sql.Composed:
    """What provisioning runs on the cluster for a new tenant, as one script: its role, its schema
    at `version` (default the latest) and the grants. The benches' raw replay sends this very
    script, so they compare the service with the same DDL."""
    return tenant_ddl.provision_script(slug, create_schema(schema_name(slug), version, catalog))
