"""Leader election: a session-level PostgreSQL advisory lock, held for the life of the leader.

Only the holder schedules jobs. The lock lives on a connection of its own; when the leader dies
its connection closes and PostgreSQL releases the lock at once, and a standby that retries every
few seconds takes over. TCP keepalives bound how long a silently lost leader (network cut) keeps
the lock; the leader checks its own connection before every job run it starts (and every few
seconds) and steps down when it cannot prove it still holds it. `backend_pid` names the leader's
session so a claim can re-check, in the same transaction, that this session still holds the lock.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

import psycopg

from control_plane.db.privileged import privileged_conninfo

log = logging.getLogger(__name__)

LOCK_CLASS = 72_100_004  # two-int4 advisory key space: (class, object)
LEADER_OBJECT = 1


class LeaderLock:
    def __init__(self, catalog_url: str, lock_object: int = LEADER_OBJECT) -> None:
        self._url = privileged_conninfo(catalog_url)
        self._object = lock_object
        self._conn: psycopg.Connection | None = None
        # The lock's connection is shared by the monitor loop and the scheduler's job threads.
        self._mutex = threading.RLock()
        self.backend_pid: int | None = None
        self.name = f"cp-leader {socket.gethostname()}:{os.getpid()}"[:63]

    def _connect(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._url, autocommit=True, connect_timeout=10, application_name=self.name,
                keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
        return self._conn

    def try_acquire(self) -> bool:
        with self._mutex:
            try:
                conn = self._connect()
                row = conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s, %s), pg_catalog.pg_backend_pid()",
                                   (LOCK_CLASS, self._object)).fetchone()
            except psycopg.Error as exc:
                log.warning("leader election: cannot reach the catalog: %s", str(exc).strip().splitlines()[0:1])
                self._drop()
                return False
            held = bool(row and row[0])
            self.backend_pid = int(row[1]) if held and row else None
            return held

    def still_held(self) -> bool:
        """Ask the server whether this session still holds the lock (a dead connection cannot).
        One small query on the lock's own connection: cheap enough before every job run."""
        with self._mutex:
            if self._conn is None or self._conn.closed:
                return False
            try:
                row = self._conn.execute(
                    "SELECT pg_catalog.count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_catalog.pg_backend_pid() AND classid = CAST(%s AS pg_catalog.oid) "
                    "AND objid = CAST(%s AS pg_catalog.oid) AND objsubid = 2 AND granted",
                    (LOCK_CLASS, self._object)).fetchone()
            except psycopg.Error:
                self._drop()
                return False
            return bool(row and row[0])

    def release(self) -> None:
        with self._mutex:
            if self._conn is not None and not self._conn.closed:
                try:
                    self._conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s, %s)", (LOCK_CLASS, self._object))
                except psycopg.Error:
                    pass  # closing the connection releases it anyway
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
        self._conn = None
        self.backend_pid = None


def current_leader(catalog_url: str, lock_object: int = LEADER_OBJECT) -> dict[str, object] | None:
    """Who holds the leader lock now (for the Jobs page): application name, client address, since."""
    with psycopg.connect(privileged_conninfo(catalog_url), autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT a.pid, a.application_name, CAST(a.client_addr AS pg_catalog.text), a.backend_start "
            "FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.classid = CAST(%s AS pg_catalog.oid) "
            "AND l.objid = CAST(%s AS pg_catalog.oid) AND l.objsubid = 2 AND l.granted",
            (LOCK_CLASS, lock_object)).fetchone()
    if row is None:
        return None
    return {"pid": row[0], "application_name": row[1], "client_addr": row[2], "since": row[3]}
