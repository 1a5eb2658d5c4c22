"""SQL run on the source and target clusters of a move. Identifiers only through
psycopg.sql.Identifier; replication object names are derived from the move's id, never from text."""

from __future__ import annotations

import psycopg
from psycopg import sql

from control_plane.adapters.tenant_ddl import SCHEMA_RELATIONS
from control_plane.tenant_schema.queries import SCHEMA_VERSION_COMMENT

# Server settings a cluster needs to take part in an online move (docs/moves.md "Online or offline"),
# the superuser or replication rights (Aurora: rds_superuser / rds_replication), and which database
# this is: two cluster names for one database must never be a move's source and target.
SERVER_FACTS = """
SELECT current_setting('server_version_num')::int,
       current_setting('wal_level'),
       current_setting('max_replication_slots')::int,
       current_setting('max_wal_senders')::int,
       current_setting('max_logical_replication_workers')::int,
       (SELECT count(*) FROM pg_replication_slots)::int,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
         OR EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_superuser'
                     AND pg_has_role(current_user, oid, 'MEMBER')),
       (SELECT rolreplication FROM pg_roles WHERE rolname = current_user)
         OR EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_replication'
                     AND pg_has_role(current_user, oid, 'MEMBER')),
       pg_postmaster_start_time()::text || '/' || current_setting('port') || '/' || current_database()
"""

# A schema's comment (its template version), or no row when there is no such schema.
SCHEMA_EXISTS = SCHEMA_VERSION_COMMENT
ROLE_EXISTS = "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s"
# The schema's sequences, found from its own relations (SCHEMA_RELATIONS: pg_depend's index on the
# namespace), never by `relnamespace = …`, which reads every relation of the database.
SEQUENCES = f"SELECT rel.relname FROM ({SCHEMA_RELATIONS}) rel WHERE rel.relkind = 'S' ORDER BY 1"
PUBLICATION_EXISTS = "SELECT 1 FROM pg_publication WHERE pubname = %s"
SLOT = "SELECT confirmed_flush_lsn::text, active FROM pg_replication_slots WHERE slot_name = %s"
SUBSCRIPTION_EXISTS = "SELECT subenabled FROM pg_subscription WHERE subname = %s"
# Table states of a subscription: 'r' ready (copied and streaming), anything else still copying.
SUBSCRIPTION_TABLES = """
SELECT c.relname, r.srsubstate FROM pg_subscription s
  JOIN pg_subscription_rel r ON r.srsubid = s.oid JOIN pg_class c ON c.oid = r.srrelid
 WHERE s.subname = %s ORDER BY 1
"""
CURRENT_LSN = "SELECT pg_current_wal_lsn()::text"
LSN_REACHED = "SELECT %s::pg_lsn >= %s::pg_lsn"
LSN_DIFF = "SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)::bigint"
# Sessions that hold a lock on one of the schema's tables: the tenant's open transactions. Driven
# by pg_locks (the server's locks, not its catalog): each lock's relation is found by oid.
TERMINATE_SCHEMA_SESSIONS = """
SELECT count(pg_terminate_backend(l.pid)) FROM (
  SELECT DISTINCT l.pid FROM pg_locks l
    JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE l.locktype = 'relation' AND n.nspname = %s AND l.pid <> pg_backend_pid()
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) l
"""
# The same text for the same rows on both clusters (checksums are compared across servers).
STABLE_OUTPUT = ("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; "
                 "SET extra_float_digits = 3; SET bytea_output = 'hex'")


def publication_name(move_id: int) -> str:
    return f"cp_move_{int(move_id)}"


def create_publication(move_id: int, schema: str) -> sql.Composed:
    return sql.SQL("CREATE PUBLICATION {p} FOR TABLES IN SCHEMA {s}").format(
        p=sql.Identifier(publication_name(move_id)), s=sql.Identifier(schema))


def create_slot(move_id: int) -> sql.Composed:
    return sql.SQL("SELECT pg_create_logical_replication_slot({n}, 'pgoutput')").format(
        n=sql.Literal(publication_name(move_id)))


def drop_slot(move_id: int) -> sql.Composed:
    return sql.SQL("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                   "WHERE slot_name = {n} AND NOT active").format(n=sql.Literal(publication_name(move_id)))


def drop_publication(move_id: int) -> sql.Composed:
    return sql.SQL("DROP PUBLICATION IF EXISTS {p}").format(p=sql.Identifier(publication_name(move_id)))


# --- the move's own replication role (docs/moves.md "Credentials") ---------------------------

# What keeps a statement's text out of the server's log, its statistics and pg_stat_activity for
# the rest of its transaction (SET LOCAL, by set_config(…, true)): the statements that carry a
# password run only after this, in the same transaction, as statements of their own (the log
# decides on a whole query string before running any of it). Settings this server does not have
# (pg_stat_statements.track without the extension loaded) are skipped.
QUIET_SETTINGS = {
    "log_statement": "none",
    "log_min_duration_statement": "-1",
    "log_min_duration_sample": "-1",
    "log_transaction_sample_rate": "0",
    "log_min_error_statement": "panic",  # a failing statement is not quoted in the log either
    "track_activities": "off",
    "pg_stat_statements.track": "none",
}
SETTINGS_PRESENT = "SELECT name FROM pg_catalog.pg_settings WHERE name = ANY(%s::text[]) ORDER BY 1"
SET_LOCAL = ("SELECT pg_catalog.set_config(q.name, q.value, true) "
             "FROM ROWS FROM (pg_catalog.unnest(%s::text[]), pg_catalog.unnest(%s::text[])) AS q(name, value)")
# Whether the current user may SET the core settings above (superusers may; others need
# GRANT SET ON PARAMETER, PostgreSQL 15): asked only of servers of version 15 or later.
CAN_QUIET = """
SELECT pg_catalog.bool_and(pg_catalog.has_parameter_privilege(p, 'SET'))
  FROM pg_catalog.unnest(%s::text[]) AS p
"""
CORE_QUIET_SETTINGS = [k for k in QUIET_SETTINGS if "." not in k]
CURRENT_DATABASE = "SELECT pg_catalog.current_database()"


def move_role(move_id: int) -> str:
    """The role the target logs in as to read the source: named from the move, so a resumed move
    finds it; never a tenant's or the catalog's role."""
    return f"cp_move_{int(move_id)}"


# A role of the move's name found on the source: the rights it must not have.
MOVE_ROLE = ("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_catalog.pg_roles "
             "WHERE rolname = %s")
# How the move's role gets replication: the REPLICATION attribute, or on Aurora/RDS (where the
# control plane's user is no superuser) membership of rds_replication.
REPLICATION_GRANT = """
SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user),
       EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rds_replication')
"""


def create_move_role(move_id: int) -> sql.Composed:
    """LOGIN and nothing else (replication: grant_replication); no password until set_password."""
    return sql.SQL("CREATE ROLE {r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD NULL").format(
        r=sql.Identifier(move_role(move_id)))


def grant_replication(move_id: int, rds_replication: bool) -> sql.Composed:
    r = sql.Identifier(move_role(move_id))
    if rds_replication:
        return sql.SQL("GRANT rds_replication TO {r}").format(r=r)
    return sql.SQL("ALTER ROLE {r} REPLICATION").format(r=r)


def revoke_move_role(move_id: int) -> sql.Composed:
    """Every right the role holds in this database and on shared objects (DROP OWNED also revokes)."""
    return sql.SQL("DROP OWNED BY {r}").format(r=sql.Identifier(move_role(move_id)))


def grant_move_role(move_id: int, database: str, schema: str, tables: list[str]) -> sql.Composed:
    """What the subscription's initial copy reads with: the database, the schema (USAGE) and
    SELECT on each of the tenant's tables by name, never `ON ALL TABLES IN SCHEMA` (whose cost
    follows the whole catalog)."""
    r = sql.Identifier(move_role(move_id))
    parts = [sql.SQL("GRANT CONNECT ON DATABASE {d} TO {r}").format(d=sql.Identifier(database), r=r),
             sql.SQL("GRANT USAGE ON SCHEMA {s} TO {r}").format(s=sql.Identifier(schema), r=r)]
    if tables:
        parts.append(sql.SQL("GRANT SELECT ON TABLE {t} TO {r}").format(
            t=sql.SQL(", ").join(sql.Identifier(schema, t) for t in tables), r=r))
    return sql.SQL("; ").join(parts)


def set_password(move_id: int, verifier: str) -> sql.Composed:
    """The password as a verifier (SCRAM or md5, made by libpq on our side): the source never sees
    the password itself."""
    return sql.SQL("ALTER ROLE {r} PASSWORD {v}").format(r=sql.Identifier(move_role(move_id)),
                                                         v=sql.Literal(verifier))


def disable_move_role(move_id: int) -> sql.Composed:
    return sql.SQL("ALTER ROLE {r} NOLOGIN PASSWORD NULL").format(r=sql.Identifier(move_role(move_id)))


def drop_move_role(move_id: int) -> sql.Composed:
    return sql.SQL("DROP ROLE IF EXISTS {r}").format(r=sql.Identifier(move_role(move_id)))


def alter_subscription_connection(move_id: int, conninfo: str) -> sql.Composed:
    return sql.SQL("ALTER SUBSCRIPTION {n} CONNECTION {c}").format(
        n=sql.Identifier(publication_name(move_id)), c=sql.Literal(conninfo))


def create_subscription(move_id: int, source_conninfo: str) -> sql.Composed:
    """The slot exists already (made on the source first), so this works even when both
    clusters are databases of one server, where creating the slot from here would wait forever.
    synchronous_commit on: the subscriber confirms a write to the slot as soon as it applied it,
    not when its WAL writer gets round to flushing (PostgreSQL's default for subscriptions is off),
    which took the cut-over's `caught_up` from 0.2-0.45 s to ~0.03 s (bench/tenant_move.py).
    With create_slot = false it may run inside a transaction block, which is how the password it
    carries stays out of the logs (steps.quietly)."""
    name = publication_name(move_id)
    return sql.SQL("CREATE SUBSCRIPTION {n} CONNECTION {c} PUBLICATION {n} "
                   "WITH (copy_data = true, create_slot = false, slot_name = {s}, enabled = true, "
                   "synchronous_commit = 'on')").format(
        n=sql.Identifier(name), c=sql.Literal(source_conninfo), s=sql.Literal(name))


def detach_subscription(move_id: int) -> list[sql.Composed]:
    """Disable, forget the slot (dropped on the source by us), drop: each one statement outside a
    transaction, as PostgreSQL requires for DROP SUBSCRIPTION."""
    n = sql.Identifier(publication_name(move_id))
    return [sql.SQL("ALTER SUBSCRIPTION {n} DISABLE").format(n=n),
            sql.SQL("ALTER SUBSCRIPTION {n} SET (slot_name = NONE)").format(n=n),
            sql.SQL("DROP SUBSCRIPTION IF EXISTS {n}").format(n=n)]


def table_checksum(schema: str, table: str) -> sql.Composed:
    """Rows and an order-independent digest of their text: equal on both sides means equal data.
    A sum of 64-bit hashes needs no sort and no md5 per row: half the time of a sorted md5 list
    (100,000 rows), and verification runs while the tenant's writes are blocked. hashtextextended
    is the hash PostgreSQL keeps stable across versions for hash partitioning."""
    return sql.SQL("SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) FROM {t} t").format(
        t=sql.Identifier(schema, table))


def sequence_state(schema: str, sequence: str) -> sql.Composed:
    return sql.SQL("SELECT last_value, is_called FROM {q}").format(q=sql.Identifier(schema, sequence))


def set_sequence(conn: psycopg.Connection, schema: str, sequence: str, value: int, is_called: bool) -> None:
    qualified = sql.Identifier(schema, sequence).as_string(conn)
    conn.execute("SELECT setval(%s::regclass, %s, %s)", (qualified, value, is_called))


def truncate(schema: str, tables: list[str]) -> sql.Composed:
    return sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(schema, t) for t in tables))


def copy_out(schema: str, table: str) -> sql.Composed:
    return sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(sql.Identifier(schema, table))


def copy_in(schema: str, table: str) -> sql.Composed:
    return sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(sql.Identifier(schema, table))


def rename_schema(old: str, new: str) -> sql.Composed:
    return sql.SQL("ALTER SCHEMA {o} RENAME TO {n}").format(o=sql.Identifier(old), n=sql.Identifier(new))


def revoke_schema(schema: str, role: str) -> sql.Composed:
    return sql.SQL("REVOKE ALL ON SCHEMA {s} FROM {r}").format(s=sql.Identifier(schema), r=sql.Identifier(role))


def comment_retained(schema: str, text: str) -> sql.Composed:
    return sql.SQL("COMMENT ON SCHEMA {s} IS {c}").format(s=sql.Identifier(schema), c=sql.Literal(text))

