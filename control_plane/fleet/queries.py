"""SQL of the fleet migrations area (catalog reads and the per-tenant transaction's settings).
Parameterised; identifiers only through psycopg.sql."""

from __future__ import annotations

from psycopg import sql

# Only these statuses are migrated; the others are skipped and reported.
MIGRATABLE = ("active", "suspended")


def set_timeouts(lock_timeout_ms: int, statement_timeout_ms: int) -> sql.Composed:
    """Local to the transaction: a pooled connection never keeps them."""
    return sql.SQL("SET LOCAL lock_timeout = {l}; SET LOCAL statement_timeout = {s}").format(
        l=sql.Literal(f"{int(lock_timeout_ms)}ms"), s=sql.Literal(f"{int(statement_timeout_ms)}ms"))


def tenant_lock(slug: str) -> sql.Composed:
    """One migration at a time per tenant, whatever runs it (run, restore, a second worker)."""
    return sql.SQL("SELECT pg_advisory_xact_lock(hashtextextended({k}, 0))").format(
        k=sql.Literal(f"control_plane.fleet:{slug}"))


def run_lock(run_id: int) -> sql.Composed:
    """Held (session level) by whoever drives a run; the server releases it if that process dies."""
    return sql.SQL("SELECT pg_try_advisory_lock(hashtextextended({k}, 0))").format(
        k=sql.Literal(f"control_plane.fleet.run:{int(run_id)}"))


def open_tenant(slug: str, lock_timeout_ms: int, statement_timeout_ms: int) -> sql.Composed:
    """The start of a tenant's migration transaction on the catalog database, one round trip:
    timeouts, the tenant's advisory lock, then its catalog row locked and read (status, version)."""
    return sql.Composed([set_timeouts(lock_timeout_ms, statement_timeout_ms), sql.SQL("; "), tenant_lock(slug),
                         sql.SQL("; SELECT " + _STATUS_OR_MOVING + ", t.template_version FROM control_plane.tenants t "
                                 "WHERE t.slug = {} FOR UPDATE OF t").format(sql.Literal(slug))])


# Raised by expect_tenant() when the tenant is not as its caller believed.
NOT_AS_EXPECTED = "CP001"


def expect_tenant(slug: str, status: str, version: int) -> sql.Composed:
    """Inside the tenant's transaction, after its advisory lock: its catalog row locked and checked
    to have this status and version, else SQLSTATE NOT_AS_EXPECTED (nothing after it runs). Lets a
    caller that knows the version send the revision in the same round trip as the check."""
    if "$" in slug:  # a literal inside the dollar-quoted body must not end it (slugs never have one)
        raise ValueError(f"unexpected slug {slug!r}")
    return sql.SQL(
        "DO $cp$ BEGIN PERFORM FROM control_plane.tenants t WHERE t.slug = {s} "
        "AND COALESCE(t.template_version, 1) = {v} AND " + _STATUS_OR_MOVING + " = {st} FOR UPDATE OF t; "
        "IF NOT FOUND THEN RAISE EXCEPTION 'tenant % is not at version % and %', {s}, {v}, {st} "
        "USING ERRCODE = {code}; END IF; END $cp$").format(
        s=sql.Literal(slug), v=sql.Literal(int(version)), st=sql.Literal(status), code=sql.Literal(NOT_AS_EXPECTED))


def set_version(slug: str, version: int) -> sql.Composed:
    return sql.SQL("UPDATE control_plane.tenants SET template_version = {v}, updated_at = now() "
                   "WHERE slug = {s} AND template_version IS DISTINCT FROM {v}").format(
        v=sql.Literal(int(version)), s=sql.Literal(slug))


# A tenant with a running move reads as `moving`: never migrated then (docs/moves.md), skipped and reported.
_STATUS_OR_MOVING = ("CASE WHEN EXISTS (SELECT FROM control_plane.tenant_moves m WHERE m.tenant_slug = t.slug "
                     "AND m.status = 'running') THEN 'moving' ELSE t.status END")
CATALOG_TENANT = f"SELECT {_STATUS_OR_MOVING}, t.template_version FROM control_plane.tenants t WHERE t.slug = %s"
CATALOG_SET_VERSION = ("UPDATE control_plane.tenants SET template_version = %s, updated_at = now() "
                       "WHERE slug = %s AND template_version IS DISTINCT FROM %s")
SCHEMA_VERSION_COMMENT = "SELECT obj_description(n.oid, 'pg_namespace') FROM pg_namespace n WHERE n.nspname = %s"

# How many tenants are at each version, by status: the `tenants migrations` table and the
# "nothing to do" answer, one query whatever the fleet size.
VERSION_COUNTS = """
SELECT COALESCE(template_version, 1) AS version, status, count(*) AS tenants
  FROM control_plane.tenants
 WHERE status <> 'purged'
 GROUP BY 1, 2 ORDER BY 1, 2
"""

FLEET_VERSION = "SELECT max(template_version) FROM control_plane.tenants WHERE status IN ('active', 'suspended')"

# Tenants below `target` (and, with `slugs`, only those), with what planning needs.
BELOW_TARGET = """
SELECT t.slug, t.status, COALESCE(t.template_version, 1) AS version, t.plan_code, t.cluster_name, t.is_demo
  FROM control_plane.tenants t
 WHERE COALESCE(t.template_version, 1) < :target AND t.status <> 'purged'
   AND (CAST(:slugs AS text[]) IS NULL OR t.slug = ANY(CAST(:slugs AS text[])))
 ORDER BY t.slug
"""

# Is anything below `target`? The no-op answer: one index probe.
ANY_BELOW = """
SELECT count(*) FILTER (WHERE status IN ('active', 'suspended')) AS pending,
       count(*) AS below
  FROM control_plane.tenants
 WHERE COALESCE(template_version, 1) < :target AND status <> 'purged'
"""

# Health of two groups of tenants over [start, end]: failed checks, checks, incidents opened, p95
# latency (nearest rank), from the uptime store (control_plane/uptime/raw.py, source()).
GROUP_HEALTH = """
WITH members AS (SELECT unnest(CAST(:migrated AS text[])) AS slug, true AS migrated
                 UNION ALL SELECT unnest(CAST(:baseline AS text[])), false),
     checks AS (SELECT m.migrated, c.ok, c.latency_ms FROM {source} c JOIN members m ON m.slug = c.tenant_slug),
     opened AS (SELECT m.migrated, count(*) AS n FROM control_plane.incidents i JOIN members m ON m.slug = i.tenant_slug
                 WHERE i.opened_at >= :start AND i.opened_at <= :end GROUP BY m.migrated)
SELECT g.migrated,
       (SELECT count(*) FROM checks c WHERE c.migrated = g.migrated) AS checks,
       (SELECT count(*) FROM checks c WHERE c.migrated = g.migrated AND NOT c.ok) AS failed,
       COALESCE((SELECT n FROM opened o WHERE o.migrated = g.migrated), 0) AS incidents,
       (SELECT percentile_disc(0.95) WITHIN GROUP (ORDER BY c.latency_ms) FROM checks c
         WHERE c.migrated = g.migrated AND c.latency_ms IS NOT NULL) AS p95_latency_ms
  FROM (VALUES (true), (false)) AS g(migrated)
"""

# Every schema's shape as comparable lines (columns, types, defaults, identity, constraints,
# indexes), from pg_catalog, for many schemas at once: one query per cluster.
FINGERPRINT = """
WITH s AS (SELECT n.oid, n.nspname FROM pg_namespace n WHERE n.nspname = ANY(%s))
SELECT s.nspname, 'table ' || c.relname
  FROM s JOIN pg_class c ON c.relnamespace = s.oid AND c.relkind IN ('r', 'p')
UNION ALL
SELECT s.nspname, 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
       || CASE a.attidentity WHEN 'a' THEN ' identity always' WHEN 'd' THEN ' identity by default' ELSE '' END
  FROM s JOIN pg_class c ON c.relnamespace = s.oid AND c.relkind IN ('r', 'p')
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
UNION ALL
SELECT s.nspname, 'constraint ' || c.relname || '.' || co.conname || ' ' || pg_get_constraintdef(co.oid)
  FROM s JOIN pg_constraint co ON co.connamespace = s.oid JOIN pg_class c ON c.oid = co.conrelid
UNION ALL
SELECT s.nspname, 'index ' || pg_get_indexdef(i.indexrelid)
  FROM s JOIN pg_class c ON c.relnamespace = s.oid JOIN pg_index i ON i.indrelid = c.oid
"""

# Several tenants' results of one run in one statement (rows: a JSON array).
RECORD_RESULTS = """
UPDATE control_plane.migration_results r
   SET status = v.status, attempts = r.attempts + v.attempts, duration_ms = v.duration_ms, error = v.error,
       to_version = {to}, updated_at = now()
  FROM jsonb_to_recordset(CAST(:rows AS jsonb))
       AS v(slug text, status text, attempts int, duration_ms int, error text, to_version int)
 WHERE r.run_id = :run AND r.tenant_slug = v.slug
"""
