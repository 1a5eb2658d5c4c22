"""SQL of the fleet migrations area (catalog reads and the per-tenant transaction's settings).
Parameterised; identifiers only through psycopg.sql."""

from __future__ import annotations

from psycopg import sql

from control_plane.db import advisory_locks
from control_plane.domain.lifecycle import Action, Status

# Only these statuses are migrated; the others (and `moving`, below) are skipped and reported.
MIGRATABLE = tuple(s.value for s in Status if s.can(Action.MIGRATE))


def set_timeouts(lock_timeout_ms: int, statement_timeout_ms: int) -> sql.Composed:
    """Local to the transaction: a pooled connection never keeps them. From PostgreSQL 14 the
    server also checks every second that the client is still there: the query of a driver killed
    while it waits on a lock is cancelled (its transaction undone) instead of committing later."""
    return sql.SQL("SET LOCAL lock_timeout = {l}; SET LOCAL statement_timeout = {s}; "
                   "SELECT pg_catalog.set_config(CAST('client_connection_check_interval' AS pg_catalog.text), "
                   "CAST('1000' AS pg_catalog.text), true) WHERE CAST(pg_catalog.current_setting("
                   "CAST('server_version_num' AS pg_catalog.text)) AS pg_catalog.int4) >= 140000").format(
        l=sql.Literal(f"{int(lock_timeout_ms)}ms"), s=sql.Literal(f"{int(statement_timeout_ms)}ms"))


def tenant_lock(slug: str) -> sql.Composed:
    """One migration at a time per tenant, whatever runs it (run, restore, a second worker)."""
    return advisory_locks.xact_lock_sql(advisory_locks.fleet_tenant(slug))


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

# Reconciliation (fleet/reconcile.py). A run's tenants as the catalog records them: the ledger row,
# the tenant's status and version, where it lives. One query whatever the number of tenants.
RUN_TENANTS = """
SELECT r.tenant_slug, r.cluster_name, c.url_env, r.wave, r.from_version, r.to_version, r.status,
       t.status AS tenant_status, t.template_version
  FROM control_plane.migration_results r
  LEFT JOIN control_plane.tenants t ON t.slug OPERATOR(pg_catalog.=) r.tenant_slug
  LEFT JOIN control_plane.clusters c ON c.name OPERATOR(pg_catalog.=) r.cluster_name
 WHERE r.run_id OPERATOR(pg_catalog.=) CAST(:run AS pg_catalog.int8)
 ORDER BY r.wave, r.tenant_slug
"""

# On one cluster, for many schemas at once: the version comment each schema carries, and whether
# another session holds the tenant's migration lock right now (a driver, or the orphaned query of
# a driver that was killed, still at work on it). One query per cluster.
CLUSTER_STATES = """
WITH held AS MATERIALIZED (
    SELECT DISTINCT (CAST(l.classid AS pg_catalog.int8) OPERATOR(pg_catalog.<<) 32)
                    OPERATOR(pg_catalog.|) CAST(l.objid AS pg_catalog.int8) AS key
      FROM pg_catalog.pg_locks l
     WHERE l.locktype OPERATOR(pg_catalog.=) CAST('advisory' AS pg_catalog.text)
       AND l.objsubid OPERATOR(pg_catalog.=) CAST(1 AS pg_catalog.int2)
       AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
                                               WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
       AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid())
SELECT s.schema,
       pg_catalog.obj_description(n.oid, CAST('pg_namespace' AS pg_catalog.name)),
       h.key IS NOT NULL
  FROM ROWS FROM (pg_catalog.unnest(CAST(%s AS pg_catalog.text[])), pg_catalog.unnest(CAST(%s AS pg_catalog.text[])))
       AS s(schema, lock_key)
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) s.schema
  LEFT JOIN held h ON h.key OPERATOR(pg_catalog.=) pg_catalog.hashtextextended(s.lock_key, CAST(0 AS pg_catalog.int8))
"""

# How many tenants are at each version, by status: the `tenants migrations` table and the
# "nothing to do" answer, one query whatever the fleet size.
VERSION_COUNTS = """
SELECT COALESCE(template_version, 1) AS version, status, count(*) AS tenants
  FROM control_plane.tenants
 WHERE status <> 'purged'
 GROUP BY 1, 2 ORDER BY 1, 2
"""

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
# indexes), from pg_catalog, for many schemas at once, the schema's own name taken out of each line
# (so two schemas of one version read the same). The body of both queries below.
_LINES = """
WITH s AS (SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
            WHERE n.nspname OPERATOR(pg_catalog.=) ANY(CAST(%s AS pg_catalog.name[]))),
rel AS MATERIALIZED (  -- pg_class has no index on the schema: read once, not once per kind of line
    SELECT c.oid, c.relname, c.relkind, s.nspname FROM s JOIN pg_catalog.pg_class c ON c.relnamespace = s.oid),
raw(nspname, line) AS (
SELECT c.nspname, 'table ' || c.relname
  FROM rel c WHERE c.relkind IN ('r', 'p')
UNION ALL
SELECT c.nspname, 'column ' || c.relname || '.' || a.attname || ' '
       || pg_catalog.format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || COALESCE(' default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), '')
       || CASE a.attidentity WHEN 'a' THEN ' identity always' WHEN 'd' THEN ' identity by default' ELSE '' END
  FROM rel c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                   AND c.relkind IN ('r', 'p')
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
UNION ALL
SELECT s.nspname, 'constraint ' || c.relname || '.' || co.conname || ' ' || pg_catalog.pg_get_constraintdef(co.oid)
  FROM s JOIN pg_catalog.pg_constraint co ON co.connamespace = s.oid
  JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
UNION ALL
SELECT c.nspname, 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid)
  FROM rel c JOIN pg_catalog.pg_index i ON i.indrelid = c.oid),
lines AS (
SELECT r.nspname, pg_catalog.replace(pg_catalog.replace(r.line, '"' || r.nspname || '".', ''), r.nspname || '.', '')
       COLLATE "C" AS line
  FROM raw r)
"""

# The lines themselves: only for the schemas whose digest differs from their version's.
FINGERPRINT = _LINES + "SELECT l.nspname, l.line FROM lines l"

# One digest per schema from the catalog's own columns, never a pg_get_*def() call: deparsing is
# what costs (~0.1 ms an index or constraint: 35 s for a fleet of 12,000), reading columns does not.
# Each object is one line of what its FINGERPRINT line shows, hashed field by field (not, say, a
# foreign key's equality operators or the index it uses: pg_get_constraintdef() prints neither,
# and an own index's options are in its own line); an object of this schema stands by its name (a
# type of its own, a referenced table), any other by its oid; expression trees (defaults, checks,
# index expressions) lose their `:location`, a character position in the DDL text that moves with
# the schema name's length; the pattern runs once per distinct tree (a few thousand), not per object.
# Two schemas with the same digest have the same FINGERPRINT lines; the converse need not hold (a
# column added then dropped moves the next attnum): a differing digest only means "read the
# lines". The digest is order-free: the count and the sum of the lines' 64-bit hashes, no sort.
# What keeps it to ~1.7 million catalog rows in a few seconds at 20,000 tenants (bench/README.md
# "Fleet reads"): each catalog is read once, and what the lines are joined on is narrow. A name
# travels as its 64-bit hash, an object's own columns are hashed where they are read (no wide rows
# kept), a tree joins its `:location`-free hash by its text, relations are only tables and indexes
# (not the sequences), and the schemas are a hashed semi-join. The planner cannot estimate these
# CTEs (it would sort-merge millions of rows it believes to be billions): DIGEST_SETTINGS.
# {H}…{/H}: one line's hash; {newer_…}: columns of PostgreSQL 15+ (digest_query() fills them in).
_DIGESTS = """
WITH s AS MATERIALIZED (
    SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
     WHERE n.nspname OPERATOR(pg_catalog.=) ANY(CAST(%s AS pg_catalog.name[]))),
rel AS MATERIALIZED (
    SELECT c.oid, c.relnamespace AS nsp, c.relkind,
           pg_catalog.hashtextextended(CAST(c.relname AS pg_catalog.text), CAST(0 AS pg_catalog.int8)) AS name,
           {H}c.relname, c.relkind, c.relam, c.reloptions, c.reltablespace{/H} AS h
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace OPERATOR(pg_catalog.=) ANY(SELECT s.oid FROM s)
       AND c.relkind OPERATOR(pg_catalog.=) ANY(CAST('{r,p,i,I}' AS pg_catalog."char"[]))),
tbl AS MATERIALIZED (
    SELECT r.oid, r.nsp, r.name, r.h FROM rel r
     WHERE r.relkind OPERATOR(pg_catalog.=) ANY(CAST('{r,p}' AS pg_catalog."char"[]))),
con AS MATERIALIZED (
    SELECT co.connamespace AS nsp, co.conrelid, co.confrelid, CAST(co.conbin AS pg_catalog.text) AS tree,
           {H}co.conname, co.contype, co.condeferrable, co.condeferred, co.convalidated, co.conkey, co.confkey,
           co.conexclop, co.confupdtype, co.confdeltype, co.confmatchtype, co.connoinherit{newer_constraint}{/H} AS h
      FROM pg_catalog.pg_constraint co
     WHERE co.connamespace OPERATOR(pg_catalog.=) ANY(SELECT s.oid FROM s)),
idx AS MATERIALIZED (
    SELECT t.nsp, t.name AS tablename, i.indexrelid, CAST(i.indexprs AS pg_catalog.text) AS exprs,
           CAST(i.indpred AS pg_catalog.text) AS pred,
           {H}i.indnatts, i.indnkeyatts, i.indisunique, i.indisprimary, i.indisexclusion, i.indimmediate,
           CAST(i.indkey AS pg_catalog.int2[]), CAST(i.indcollation AS pg_catalog.oid[]),
           CAST(i.indclass AS pg_catalog.oid[]), CAST(i.indoption AS pg_catalog.int2[]){newer_index}{/H} AS h
      FROM tbl t JOIN pg_catalog.pg_index i ON i.indrelid OPERATOR(pg_catalog.=) t.oid),
def AS MATERIALIZED (
    SELECT t.nsp, t.name, d.adnum, CAST(d.adbin AS pg_catalog.text) AS tree
      FROM tbl t JOIN pg_catalog.pg_attrdef d ON d.adrelid OPERATOR(pg_catalog.=) t.oid),
trees AS MATERIALIZED (
    SELECT t.tree, pg_catalog.hashtextextended(pg_catalog.regexp_replace(t.tree, ' :location -?[0-9]+', '', 'g'),
                                               CAST(0 AS pg_catalog.int8)) AS plain
      FROM (SELECT d.tree FROM def d UNION SELECT c.tree FROM con c
            UNION SELECT i.exprs FROM idx i UNION SELECT i.pred FROM idx i) t
     WHERE t.tree IS NOT NULL),
lines(nsp, h) AS (
SELECT t.nsp, t.h FROM tbl t
UNION ALL
SELECT t.nsp, {H}t.name, a.attname, a.attnum, a.atttypmod, a.attndims, a.attnotnull, a.attidentity,
           a.attgenerated, a.attcollation,
           COALESCE(CASE WHEN a.atttypid OPERATOR(pg_catalog.>=) CAST(16384 AS pg_catalog.oid) THEN (
               SELECT CAST(ty.typname AS pg_catalog.text) FROM pg_catalog.pg_type ty
                WHERE ty.oid OPERATOR(pg_catalog.=) a.atttypid
                  AND ty.typnamespace OPERATOR(pg_catalog.=) t.nsp) END,
               CAST(a.atttypid AS pg_catalog.text)){/H}
  FROM tbl t JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) t.oid
 WHERE a.attnum OPERATOR(pg_catalog.>) CAST(0 AS pg_catalog.int2) AND NOT a.attisdropped
UNION ALL
SELECT d.nsp, {H}d.name, d.adnum, t.plain{/H}
  FROM def d JOIN trees t ON t.tree OPERATOR(pg_catalog.=) d.tree
UNION ALL
SELECT c.nsp, {H}c.h, tb.name, t.plain, COALESCE(f.name, CAST(c.confrelid AS pg_catalog.int8)){/H}
  FROM con c JOIN tbl tb ON tb.oid OPERATOR(pg_catalog.=) c.conrelid
  LEFT JOIN tbl f ON f.oid OPERATOR(pg_catalog.=) c.confrelid AND f.nsp OPERATOR(pg_catalog.=) c.nsp
  LEFT JOIN trees t ON t.tree OPERATOR(pg_catalog.=) c.tree
UNION ALL
SELECT i.nsp, {H}i.h, i.tablename, x.h, e.plain, p.plain{/H}
  FROM idx i JOIN rel x ON x.oid OPERATOR(pg_catalog.=) i.indexrelid
  LEFT JOIN trees e ON e.tree OPERATOR(pg_catalog.=) i.exprs
  LEFT JOIN trees p ON p.tree OPERATOR(pg_catalog.=) i.pred),
g AS MATERIALIZED (
    SELECT l.nsp, pg_catalog.count(*) AS lines, pg_catalog.sum(l.h) AS total
      FROM lines l GROUP BY l.nsp)
SELECT s.nspname, pg_catalog.concat_ws(':', g.lines, g.total),
       pg_catalog.obj_description(s.oid, CAST('pg_namespace' AS pg_catalog.name))
  FROM s LEFT JOIN g ON g.nsp OPERATOR(pg_catalog.=) s.oid
"""


def digest_query(server_version_num: int) -> str:
    """_DIGESTS for this server: each line hashed field by field (hash_record_extended, PostgreSQL
    14+; as text before), and the columns pg_get_*def() shows that PostgreSQL 15 added: ON DELETE
    SET NULL's column list and NULLS NOT DISTINCT (the digest must see what the lines show)."""
    newer = server_version_num >= 150000
    if server_version_num >= 140000:
        open_, close = "pg_catalog.hash_record_extended(ROW(", "), CAST(0 AS pg_catalog.int8))"
    else:
        open_, close = "pg_catalog.hashtextextended(pg_catalog.concat_ws('|', ", "), CAST(0 AS pg_catalog.int8))"
    return (_DIGESTS.replace("{H}", open_).replace("{/H}", close)
            .replace("{newer_constraint}", ", co.confdelsetcols" if newer else "")
            .replace("{newer_index}", ", i.indnullsnotdistinct" if newer else ""))


# The digest query's planner settings, local to its transaction: hash joins, never a sort of the
# catalog's rows; no JIT, whose compiling costs more than it saves here. work_mem stays the
# server's: 64MB saved ~5 % of the time at 20,000 tenants for a backend five times as large (330 MB).
DIGEST_SETTINGS = "SET LOCAL jit = off; SET LOCAL enable_mergejoin = off"


# Several tenants' results of one run in one statement (rows: a JSON array). to_version is where
# the tenant is afterwards (kept as it was when the outcome does not know: it was never read).
RECORD_RESULTS = """
UPDATE control_plane.migration_results r
   SET status = v.status, attempts = r.attempts + v.attempts, duration_ms = v.duration_ms, error = v.error,
       to_version = COALESCE(v.to_version, r.to_version), updated_at = pg_catalog.now()
  FROM pg_catalog.jsonb_to_recordset(CAST(:rows AS pg_catalog.jsonb))
       AS v(slug text, status text, attempts int, duration_ms int, error text, to_version int)
 WHERE r.run_id = :run AND r.tenant_slug = v.slug
"""

# Reconciliation's corrections of the ledger: where each tenant really is, and pending rows whose
# tenant a dead driver had already migrated (rows: a JSON array).
RECONCILE_RESULTS = """
UPDATE control_plane.migration_results r
   SET status = v.status, to_version = v.to_version, updated_at = pg_catalog.now()
  FROM pg_catalog.jsonb_to_recordset(CAST(:rows AS pg_catalog.jsonb)) AS v(slug text, status text, to_version int)
 WHERE r.run_id = :run AND r.tenant_slug = v.slug
"""

# Reconciliation's corrections of the catalog: a remote cluster committed revisions the catalog
# never recorded (rows: a JSON array).
RECONCILE_VERSIONS = """
UPDATE control_plane.tenants t
   SET template_version = v.version, updated_at = pg_catalog.now()
  FROM pg_catalog.jsonb_to_recordset(CAST(:rows AS pg_catalog.jsonb)) AS v(slug text, version int)
 WHERE t.slug = v.slug AND t.template_version IS DISTINCT FROM v.version
"""
