"""The data plane's only way into a tenant: a transaction with SET LOCAL ROLE and search_path.

Plain SET would outlive the transaction and leak into the next user of a pooled connection;
SET LOCAL ends with the transaction whatever happens (commit, rollback, error).

Use it on data-plane connections (`ClusterConnections.pool(url_env, slug)`, logged in as the slug's
data-plane login `cp_data_plane_NN`): there a `RESET ROLE` inside the block falls back to a role
with no rights of its own, never to the catalog user (docs/architecture.md "Data-plane logins").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import pq, sql
from psycopg_pool import ConnectionPool

from control_plane.domain.slugs import role_name, schema_name, validate_slug
from control_plane.errors import ControlPlaneError


@contextmanager
def tenant_transaction(conn: psycopg.Connection, slug: str,
                       statement_timeout_ms: int | None = None) -> Iterator[psycopg.Connection]:
    """Run the block as tenant `slug`, in a transaction of its own, on an idle connection."""
    validate_slug(slug)
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        # Inside an outer transaction SET LOCAL would last until *that* one ends.
        raise ControlPlaneError("tenant_transaction needs a connection with no open transaction")
    statements = [
        sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role_name(slug))),
        # pg_temp named last: unnamed, PostgreSQL searches it *first* for tables, so a temp table
        # another tenant left on this pooled session could stand in for one of ours.
        sql.SQL("SET LOCAL search_path TO {}, pg_temp").format(sql.Identifier(schema_name(slug))),
    ]
    if statement_timeout_ms is not None:
        statements.append(sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(int(statement_timeout_ms))))
    with conn.transaction():
        conn.execute(sql.SQL("; ").join(statements))
        yield conn


@contextmanager
def tenant_session(pool: ConnectionPool, slug: str,
                   statement_timeout_ms: int | None = None) -> Iterator[psycopg.Connection]:
    with pool.connection() as conn, tenant_transaction(conn, slug, statement_timeout_ms) as tconn:
        yield tconn
