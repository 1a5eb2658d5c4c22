"""SQL run on the source and target clusters of a move. Identifiers only through
psycopg.sql.Identifier; replication object names are derived from the move's id, never from text."""

from __future__ import annotations

import psycopg
from psycopg import sql

from control_plane.fleet.queries import SCHEMA_VERSION_COMMENT

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
ROLE_EXISTS = "SELECT 1 FROM pg_roles WHERE rolname = %s"
SEQUENCES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %s AND c.relkind = 'S' ORDER BY 1
"""
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
# Sessions that hold a lock on one of the schema's tables: the tenant's open transactions.
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


def create_subscription(move_id: int, source_conninfo: str) -> sql.Composed:
    """The slot exists already (made on the source first), so this works even when both
    clusters are databases of one server, where creating the slot from here would wait forever.
    synchronous_commit on: the subscriber confirms a write to the slot as soon as it applied it,
    not when its WAL writer gets round to flushing (PostgreSQL's default for subscriptions is off),
    which took the cut-over's `caught_up` from 0.2-0.45 s to ~0.03 s (bench/tenant_move.py)."""
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

