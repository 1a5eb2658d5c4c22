"""Tenant reads on a psycopg connection: what `tenants.show` / `tenants.list_tenants` answer, also
run by the CLI's read path without SQLAlchemy (docs/cli.md "Command line"). The caller checks the
permission first (the services through `authorize`, which audits a refusal)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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


def stream_tenants(conn: psycopg.Connection, wanted: TenantFilters) -> Iterator[TenantView]:
    """list_tenants one tenant at a time (a server-side cursor): for output written as it comes."""
    return (view_of_row(row) for row in tenant_reads.stream_tenants(conn, wanted))


@dataclass(frozen=True)
class TenantPage:
    tenants: list[TenantView]
    total: int  # every tenant matching the filters
    offset: int


def page(conn: psycopg.Connection, wanted: TenantFilters, page_number: int) -> TenantPage:
    """Page `page_number` (from 1) of `wanted.limit` tenants and how many match in all; a page past
    the end gives the last one. Two statements whatever the fleet's size."""
    if not wanted.limit or wanted.limit < 1:
        raise InvalidInput("A page needs a size.")
    total = tenant_reads.count_tenants(conn, wanted)
    last = max(1, -(-total // wanted.limit))
    offset = (min(max(1, page_number), last) - 1) * wanted.limit
    rows = tenant_reads.fetch_page(conn, wanted, offset) if total else []
    return TenantPage([view_of_row(r) for r in rows], total, offset)
