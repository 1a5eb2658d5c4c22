"""The tenant rows behind `tenants show` / `tenants list` and the app's tenant pages, in plain
psycopg: the service runs them on its session's connection, the CLI's read path on a connection
of its own without loading SQLAlchemy (docs/cli.md "Command line"). One query each, for both."""

from __future__ import annotations

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


def fetch_tenants(conn: psycopg.Connection, filters: TenantFilters) -> list[dict[str, Any]]:
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
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY t.slug"
    if filters.limit:
        sql += " LIMIT %s"
        params.append(filters.limit)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()
