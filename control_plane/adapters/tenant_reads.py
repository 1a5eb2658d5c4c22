"""The tenant rows behind `tenants show` / `tenants list` and the app's tenant pages, in plain
psycopg: the service runs them on its session's connection, the CLI's read path on a connection
of its own without loading SQLAlchemy (docs/cli.md "Command line"). One query each, for both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

# What a TenantView is built from, listed once for both queries.
COLUMNS = ("slug", "name", "status", "plan_code", "cluster_name", "created_at", "updated_at",
           "owner_email", "status_reason", "endpoint_url", "template_version", "is_demo")
_SELECT = f"SELECT {', '.join(f't.{c}' for c in COLUMNS)} FROM control_plane.tenants t"


@dataclass(frozen=True)
class TenantFilters:
    """Already validated by the service (control_plane/services/tenant_reads.py); `search` is
    lower-case, matched as a literal substring (strpos: no LIKE wildcards to escape)."""

    status: str | None = None
    plan: str | None = None
    cluster: str | None = None
    search: str | None = None
    limit: int | None = None


def fetch_tenant(conn: psycopg.Connection, slug: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(f"{_SELECT} WHERE t.slug = %s", (slug,)).fetchone()


def _where(filters: TenantFilters) -> tuple[str, list[Any]]:
    where, params = ["TRUE"], []
    for column, value in (("status", filters.status), ("plan_code", filters.plan),
                          ("cluster_name", filters.cluster)):
        if value:
            where.append(f"t.{column} = %s")
            params.append(value)
    if filters.search:
        where.append("(strpos(t.slug, %s) > 0 OR strpos(lower(t.name), %s) > 0"
                     " OR strpos(lower(t.owner_email), %s) > 0)")
        params += [filters.search] * 3
    return " AND ".join(where), params


def _listing(filters: TenantFilters, offset: int | None = None) -> tuple[str, list[Any]]:
    where, params = _where(filters)
    sql = f"{_SELECT} WHERE {where} ORDER BY t.slug"
    if filters.limit:
        sql += " LIMIT %s"
        params.append(filters.limit)
    if offset:
        sql += " OFFSET %s"
        params.append(offset)
    return sql, params


def fetch_tenants(conn: psycopg.Connection, filters: TenantFilters) -> list[dict[str, Any]]:
    sql, params = _listing(filters)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


# Rows fetched per round trip by stream_tenants: a few hundred kB whatever the fleet's size.
STREAM_BATCH = 1000


def stream_tenants(conn: psycopg.Connection, filters: TenantFilters) -> Iterator[dict[str, Any]]:
    """The rows of fetch_tenants one at a time, through a server-side cursor: memory stays the same
    whatever the number of tenants (`tenants list` at 20,000, issue 19). The caller consumes the
    iterator before using the connection for anything else."""
    sql, params = _listing(filters)
    with conn.transaction(), conn.cursor("tenant_list", row_factory=dict_row) as cur:
        cur.itersize = STREAM_BATCH
        cur.execute(sql, params)
        yield from cur


def count_tenants(conn: psycopg.Connection, filters: TenantFilters) -> int:
    where, params = _where(filters)
    row = conn.execute(f"SELECT count(*) FROM control_plane.tenants t WHERE {where}", params).fetchone()
    return int(row[0]) if row else 0


def fetch_page(conn: psycopg.Connection, filters: TenantFilters, offset: int) -> list[dict[str, Any]]:
    """`filters.limit` rows from `offset` in slug order (the slug's unique index gives the order)."""
    sql, params = _listing(filters, offset)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()
