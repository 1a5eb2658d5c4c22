"""Every PostgreSQL advisory lock the control plane takes: the keys, listed once below, and the
only SQL that takes, releases or looks for them (docs/advisory-locks.md).

The keys are those of the releases before this module, bit for bit: an old worker and a new one
running side by side during an upgrade must still exclude each other. Three key shapes exist:

- a text key, hashed with `hashtextextended(key, 0)` into one bigint (per-object locks);
- a bigint constant (process-wide locks);
- two int4 (class, object), the object a number or `hashtext(text)` (the scheduler's locks).

A bigint key shows in pg_locks as classid (high 32 bits), objid (low 32 bits), objsubid 1; a
two-int4 key as classid, objid, objsubid 2.

Calls work on a psycopg connection or on a SQLAlchemy Connection/Session; SQLAlchemy is imported
only when one is passed, so the command line's fast paths never load it. Every function is named
with its schema and every literal cast to its exact type: nothing resolves through a schema a
tenant can write, whatever the connection's search_path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import psycopg
from psycopg import sql

if TYPE_CHECKING:  # no import at run time: see the module's docstring
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

Conn: TypeAlias = "psycopg.Connection | Connection | Session"

_TEXT = "pg_catalog.hashtextextended(CAST(%s AS pg_catalog.text), CAST(0 AS pg_catalog.int8))"
_INT8 = "CAST(%s AS pg_catalog.int8)"
_INT4 = "CAST(%s AS pg_catalog.int4)"
_HASHTEXT = "pg_catalog.hashtext(CAST(%s AS pg_catalog.text))"


@dataclass(frozen=True)
class Key:
    """One advisory lock: the lock functions' arguments (SQL with %s placeholders) and their values."""

    parts: tuple[str, ...]
    params: tuple[Any, ...]

    @property
    def args(self) -> str:
        return ", ".join(self.parts)


def text_key(name: str) -> Key:
    return Key((_TEXT,), (name,))


# --- The keys -------------------------------------------------------------------------------
# Process-wide bigint keys (72_100_xxx: this application's range).
DB_MIGRATE = Key((_INT8,), (72_100_001,))  # Alembic upgrades, app and worker starting together
DEMO_STARTUP = Key((_INT8,), (72_100_002,))  # the demo seed, once per catalog
UPTIME_RAW = Key((_INT8,), (72_100_506,))  # writers of raw checks (compaction, imports, pruning)
# Preparing a cluster's data-plane logins: processes starting together would otherwise ALTER the
# same roles at once ("tuple concurrently updated") or GRANT the same membership twice.
DATA_PLANE_PREPARE = Key((_INT8,), (72_100_008,))
# Two-int4 classes: (class, object).
SCHEDULER_LEADER_CLASS = 72_100_004
SCHEDULER_LEADER_OBJECT = 1
JOB_RUN_CLASS = 72_100_005  # object: hashtext(job id)


def scheduler_leader(lock_object: int = SCHEDULER_LEADER_OBJECT) -> Key:
    """Held for the life of the scheduling leader, on a connection of its own."""
    return Key((_INT4, _INT4), (SCHEDULER_LEADER_CLASS, int(lock_object)))


def job_run(job_id: str) -> Key:
    """Held by the thread running a job until it really ends."""
    return Key((_INT4, _HASHTEXT), (JOB_RUN_CLASS, job_id))


def fleet_run(run_id: int) -> Key:
    """Held (session) by whoever drives a migration run."""
    return text_key(f"control_plane.fleet.run:{int(run_id)}")


def fleet_tenant_name(slug: str) -> str:
    """The text of a tenant's migration lock (also matched in bulk by fleet/queries.CLUSTER_STATES)."""
    return f"control_plane.fleet:{slug}"


def fleet_tenant(slug: str) -> Key:
    """Held (transaction) by a tenant's migration: one at a time, whatever runs it."""
    return text_key(fleet_tenant_name(slug))


def move_driver(move_id: int) -> Key:
    """Held (session) on the catalog by the process driving a move."""
    return text_key(f"control_plane.move:{int(move_id)}")


def tenant_provision(slug: str) -> Key:
    """Held (session) on the tenant's cluster by a provisioning run, from its DDL until the catalog
    is updated."""
    return text_key(f"control_plane.provision:{slug}")


# --- Taking, releasing, looking ------------------------------------------------------------

def _execute(conn: Conn, statement: str, params: tuple[Any, ...]) -> Any:
    if isinstance(conn, psycopg.Connection):
        return conn.execute(statement, params)
    from sqlalchemy import text  # only when the caller already works through SQLAlchemy

    names = [f"p{i}" for i in range(len(params))]
    return conn.execute(text(statement.replace("%s", "{}").format(*(f":{n}" for n in names))),
                        dict(zip(names, params, strict=True)))


def _scalar(conn: Conn, statement: str, params: tuple[Any, ...]) -> Any:
    row = _execute(conn, statement, params).fetchone()
    return row[0] if row else None


def try_lock(conn: Conn, key: Key) -> bool:
    """Session level, without waiting: True when this session now holds it."""
    return bool(_scalar(conn, f"SELECT pg_catalog.pg_try_advisory_lock({key.args})", key.params))


def lock(conn: Conn, key: Key) -> None:
    """Session level, waiting for it."""
    _execute(conn, f"SELECT pg_catalog.pg_advisory_lock({key.args})", key.params)


def unlock(conn: Conn, key: Key) -> bool:
    """Release one session-level hold at once (closing the connection releases it too)."""
    return bool(_scalar(conn, f"SELECT pg_catalog.pg_advisory_unlock({key.args})", key.params))


def xact_lock(conn: Conn, key: Key) -> None:
    """Transaction level, waiting for it: released when the caller's transaction ends."""
    _execute(conn, f"SELECT pg_catalog.pg_advisory_xact_lock({key.args})", key.params)


def _statement(function: str, key: Key) -> sql.Composed:
    return sql.SQL(f"SELECT pg_catalog.{function}(" + key.args.replace("%s", "{}") + ")").format(
        *(sql.Literal(p) for p in key.params))


def xact_lock_sql(key: Key) -> sql.Composed:
    """The statement of xact_lock, for a caller that sends it with others in one round trip."""
    return _statement("pg_advisory_xact_lock", key)


@contextmanager
def session_lock(conn: Conn, key: Key, *, wait: bool = False) -> Iterator[bool]:
    """Hold `key` at session level for the block. Without `wait`, yields whether it was free (the
    block runs either way and decides). Use a connection in autocommit: the lock is the session's,
    and no transaction should stay open while it is held."""
    if wait:
        lock(conn, key)
        got = True
    else:
        got = try_lock(conn, key)
    try:
        yield got
    finally:
        if got and not getattr(conn, "closed", False):
            unlock(conn, key)


class CatalogConnections(Protocol):
    """What driver_lock needs of adapters.clusters.ClusterConnections (named here, not imported:
    db sits below adapters, docs/architecture.md)."""

    def connect_catalog(self, **kwargs: Any) -> AbstractContextManager[psycopg.Connection]: ...


@contextmanager
def driver_lock(clusters: CatalogConnections, key: Key) -> Iterator[bool]:
    """What drives a long operation (a move, a migration run) holds: `key` at session level on a
    catalog connection of its own, for the block (yields whether it was free). The server lets go
    when the process dies, so "recorded as running, and nobody holds the key" means its driver stopped."""
    with clusters.connect_catalog(autocommit=True) as conn, session_lock(conn, key) as held:
        yield held


@contextmanager
def locked_transaction(conn: Conn, key: Key) -> Iterator[None]:
    """A transaction on `conn` (psycopg or SQLAlchemy Connection) that first waits for `key`."""
    opened = conn.transaction() if isinstance(conn, psycopg.Connection) else conn.begin()
    with opened:
        xact_lock(conn, key)
        yield


def _where(key: Key) -> str:
    """pg_locks `l` rows of `key`, granted, in this database."""
    eq = "OPERATOR(pg_catalog.=)"
    database = (f"l.database {eq} (SELECT d.oid FROM pg_catalog.pg_database d "
                f"WHERE d.datname {eq} pg_catalog.current_database())")
    if len(key.parts) == 1:
        match = (f"l.objsubid {eq} CAST(1 AS pg_catalog.int2) AND ((CAST(l.classid AS pg_catalog.int8) "
                 "OPERATOR(pg_catalog.<<) 32) OPERATOR(pg_catalog.|) CAST(l.objid AS pg_catalog.int8)) "
                 f"{eq} {key.parts[0]}")
    else:
        match = (f"l.objsubid {eq} CAST(2 AS pg_catalog.int2) AND l.classid {eq} CAST({key.parts[0]} AS "
                 f"pg_catalog.oid) AND l.objid {eq} CAST({key.parts[1]} AS pg_catalog.oid)")
    return f"l.locktype {eq} CAST('advisory' AS pg_catalog.text) AND l.granted AND {database} AND {match}"


def held(conn: Conn, key: Key, *, by_this_session: bool = False) -> bool:
    """Whether some session of this database (or this very session) holds `key` now."""
    mine = " AND l.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()" if by_this_session else ""
    return bool(_scalar(conn, f"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE {_where(key)}{mine})",
                        key.params))


def holder(conn: Conn, key: Key) -> tuple[int, str, str | None, Any] | None:
    """Who holds `key` now: (pid, application name, client address, session start), or None."""
    row = _execute(conn, "SELECT a.pid, a.application_name, CAST(a.client_addr AS pg_catalog.text), "
                         "a.backend_start FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a "
                         f"ON a.pid OPERATOR(pg_catalog.=) l.pid WHERE {_where(key)} LIMIT 1", key.params).fetchone()
    return None if row is None else (int(row[0]), row[1], row[2], row[3])


def held_by(key: Key) -> tuple[str, tuple[Any, ...]]:
    """An EXISTS condition for a caller's larger query: the session whose pid is the next %s
    holds `key`. Returns the SQL (psycopg placeholders: the key's, then the pid) and the key's values."""
    return (f"EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE {_where(key)} "
            "AND l.pid OPERATOR(pg_catalog.=) %s)", key.params)
