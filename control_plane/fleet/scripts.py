"""SQL of a tenant's migration transaction on the catalog database, written as scripts
(docs/migrations.md "Per tenant"): BEGIN travels with the first statements and COMMIT with the
last, on a connection in autocommit mode. A revision costs one round trip when the tenant's
version is known (lock, check, change, commit) and two when it must be read first (lock and read,
then change and commit). Values are literals composed by psycopg.sql (a script of several
statements takes no parameters)."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from control_plane.fleet import queries

BEGIN = sql.SQL("BEGIN; ")
COMMIT = sql.SQL("; COMMIT")
ROLLBACK = "ROLLBACK"


def open_tenant(slug: str, lock_timeout_ms: int, statement_timeout_ms: int) -> sql.Composed:
    """BEGIN, then the timeouts, the tenant's advisory lock and its catalog row locked and read."""
    return sql.Composed([BEGIN, queries.open_tenant(slug, lock_timeout_ms, statement_timeout_ms)])


def expect_tenant(slug: str, status: str, version: int, lock_timeout_ms: int,
                  statement_timeout_ms: int) -> sql.Composed:
    """BEGIN, the timeouts, the tenant's advisory lock, then its catalog row locked and checked to
    be at `version` with `status` (else queries.NOT_AS_EXPECTED): the start of a transaction that
    sends its revision in the same round trip."""
    return sql.Composed([BEGIN, queries.set_timeouts(lock_timeout_ms, statement_timeout_ms), sql.SQL("; "),
                         queries.tenant_lock(slug), sql.SQL("; "), queries.expect_tenant(slug, status, version),
                         sql.SQL("; ")])


def insert_audit(entry: dict[str, Any]) -> sql.Composed:
    """The audit entry (control_plane.core.audit.entry()) as one statement of the script."""
    return sql.SQL("; INSERT INTO control_plane.audit_log ({c}) VALUES ({v})").format(
        c=sql.SQL(", ").join(map(sql.Identifier, entry)),
        v=sql.SQL(", ").join(sql.Literal(Jsonb(v) if isinstance(v, dict) else v) for v in entry.values()))


def finish(changes: sql.Composable, audit_entries: list[dict[str, Any]]) -> sql.Composed:
    """The rest of the transaction in one round trip: the changes, the audit entries, COMMIT."""
    return sql.Composed([changes, *[insert_audit(entry) for entry in audit_entries], COMMIT])


def catalog_follows(slug: str, version: int, audit_entries: list[dict[str, Any]]) -> sql.Composed:
    """After a remote cluster committed: the catalog's version and the audit entries together."""
    return sql.Composed([BEGIN, finish(queries.set_version(slug, version), audit_entries)])
