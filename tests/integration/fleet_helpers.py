"""Shared by the fleet migration tests: a raw connection, schema facts, a test-only revision list."""

from __future__ import annotations

import psycopg
from psycopg import sql

from control_plane.adapters.clusters import libpq_url
from control_plane.tenant_schema.revisions import REVISIONS, Catalog, Kind, Revision


def raw(ctx) -> psycopg.Connection:
    return psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True)


def columns(conn, slug: str, table: str) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        (f"tenant_{slug}", table))}


def tables(conn, slug: str) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'r'", (f"tenant_{slug}",))}


def indexes(conn, slug: str) -> set[str]:
    return {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s",
                                       (f"tenant_{slug}",))}


def comment(conn, slug: str) -> str | None:
    row = conn.execute("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
                       (f"tenant_{slug}",)).fetchone()
    return row[0] if row else None


def catalog_version(conn, slug: str) -> int | None:
    row = conn.execute("SELECT template_version FROM control_plane.tenants WHERE slug = %s", (slug,)).fetchone()
    return row[0] if row else None


# A test-only revision 4: every task title must be short. A tenant whose data violates it fails.
STRICT_TITLES = Revision(
    4, "tasks.title at most 20 characters", Kind.EXPAND,
    forward=lambda s: sql.SQL("ALTER TABLE {}.tasks ADD CONSTRAINT tasks_title_short CHECK (length(title) <= 20)")
    .format(sql.Identifier(s)),
    reverse=lambda s: sql.SQL("ALTER TABLE {}.tasks DROP CONSTRAINT tasks_title_short").format(sql.Identifier(s)),
)
WITH_STRICT_TITLES = Catalog((*REVISIONS, STRICT_TITLES))


def add_long_task(conn, slug: str) -> None:
    s = sql.Identifier(f"tenant_{slug}")
    conn.execute(sql.SQL("INSERT INTO {}.teams (name) VALUES ('t')").format(s))
    conn.execute(sql.SQL("INSERT INTO {s}.projects (team_id, name) SELECT id, 'p' FROM {s}.teams").format(s=s))
    conn.execute(sql.SQL("INSERT INTO {s}.tasks (project_id, title) SELECT id, repeat('x', 50) FROM {s}.projects")
                 .format(s=s))
