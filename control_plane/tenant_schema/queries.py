"""Where tenants' schemas are: the version the catalog says the fleet reached, and the version
comment a schema carries on its cluster (adapters/tenant_ddl.py writes it)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from control_plane.db.models import Tenant
from control_plane.tenant_schema.revisions import DEFAULT

# On a tenant cluster (psycopg, one parameter: the schema name); no row when the schema is missing.
SCHEMA_VERSION_COMMENT = ("SELECT pg_catalog.obj_description(n.oid, CAST('pg_namespace' AS pg_catalog.name)) "
                          "FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) %s")

_FLEET_VERSION = select(func.max(Tenant.template_version)).where(Tenant.status.in_(("active", "suspended")))


def fleet_version(session: Session) -> int:
    """The version the fleet has reached: the highest among live tenants (the latest revision when
    there are none). A restored archive is brought up to it."""
    found = session.scalar(_FLEET_VERSION)
    return int(found) if found else DEFAULT.latest
