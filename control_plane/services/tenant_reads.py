"""Tenant reads on a psycopg connection: what `tenants.show` / `tenants.list_tenants` answer, also
run by the CLI's read path without SQLAlchemy (README "Command line"). The caller checks the
permission first (the services through `authorize`, which audits a refusal)."""

from __future__ import annotations

import psycopg

from control_plane.adapters import tenant_reads
from control_plane.adapters.tenant_reads import TenantFilters
from control_plane.core.tenant_view import TenantView, view_of_row
from control_plane.domain.lifecycle import Status
from control_plane.domain.slugs import validate_slug
from control_plane.domain.text import CODE_MAX, SEARCH_MAX, clean_text
from control_plane.errors import InvalidInput, TenantNotFound


def show(conn: psycopg.Connection, slug: str) -> TenantView:
    slug = validate_slug(slug)
    row = tenant_reads.fetch_tenant(conn, slug)
    if row is None:
        raise TenantNotFound(slug)
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
