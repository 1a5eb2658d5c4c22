"""Tenant reads on a psycopg connection: what `tenants.show` / `tenants.list_tenants` answer, also
run by the CLI's read path without SQLAlchemy (docs/cli.md "Command line"). The caller checks the
permission first (the services through `authorize`, which audits a refusal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from control_plane.adapters import tenant_reads
from control_plane.adapters.tenant_reads import TenantFilters
from control_plane.domain.lifecycle import Status
from control_plane.domain.slugs import role_name, schema_name, validate_slug
from control_plane.domain.text import CODE_MAX, SEARCH_MAX, clean_text
from control_plane.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class TenantView:
    slug: str
    name: str
    status: str
    plan: str
    schema: str
    role: str
    cluster: str
    created_at: datetime
    updated_at: datetime
    owner_email: str | None
    status_reason: str | None
    endpoint_url: str | None
    template_version: int | None
    is_demo: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug, "name": self.name, "status": self.status, "plan": self.plan,
            "schema": self.schema, "role": self.role, "cluster": self.cluster,
            "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
            "owner_email": self.owner_email, "status_reason": self.status_reason,
            "endpoint_url": self.endpoint_url, "template_version": self.template_version,
            "is_demo": self.is_demo,
        }


def view_of_row(row: dict[str, Any]) -> TenantView:
    """A row of adapters/tenant_reads.py (its COLUMNS) as the view every caller shows."""
    return TenantView(
        slug=row["slug"], name=row["name"], status=row["status"], plan=row["plan_code"],
        schema=schema_name(row["slug"]), role=role_name(row["slug"]), cluster=row["cluster_name"],
        created_at=row["created_at"], updated_at=row["updated_at"], owner_email=row["owner_email"],
        status_reason=row["status_reason"], endpoint_url=row["endpoint_url"],
        template_version=row["template_version"], is_demo=row["is_demo"],
    )


def show(conn: psycopg.Connection, slug: str) -> TenantView:
    slug = validate_slug(slug)
    row = tenant_reads.fetch_tenant(conn, slug)
    if row is None:
        raise NotFound(f"No tenant {slug!r}.")
    return view_of_row(row)


def filters(*, status: str | None = None, plan: str | None = None, cluster: str | None = None,
            search: str | None = None, limit: int | None = None) -> TenantFilters:
    """The list's filters checked as a person typed them; a search matches slug, name or owner
    e-mail, case-insensitively, as literal text."""
    search = clean_text(search, "Search", SEARCH_MAX)
    plan, cluster = clean_text(plan, "Plan", CODE_MAX) or None, clean_text(cluster, "Cluster", CODE_MAX) or None
    if status is not None and status not in {s.value for s in Status}:
        raise InvalidInput(f"Unknown status {status!r}; use one of {', '.join(s.value for s in Status)}.")
    needle = search.strip().lower() if search and search.strip() else None
    return TenantFilters(status=status or None, plan=plan, cluster=cluster, search=needle, limit=limit or None)


def list_tenants(conn: psycopg.Connection, wanted: TenantFilters) -> list[TenantView]:
    return [view_of_row(row) for row in tenant_reads.fetch_tenants(conn, wanted)]
