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

from control_plane.db import advisory_locks
from control_plane.db.privileged import privileged_conninfo

log = logging.getLogger(__name__)

LOCK_CLASS = advisory_locks.SCHEDULER_LEADER_CLASS
LEADER_OBJECT = advisory_locks.SCHEDULER_LEADER_OBJECT


class LeaderLock:
    def __init__(self, catalog_url: str, lock_object: int = LEADER_OBJECT) -> None:
        self._url = privileged_conninfo(catalog_url)
        self._key = advisory_locks.scheduler_leader(lock_object)
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
                held = advisory_locks.try_lock(conn, self._key)
                self.backend_pid = conn.info.backend_pid if held else None
            except psycopg.Error as exc:
                log.warning("leader election: cannot reach the catalog: %s", str(exc).strip().splitlines()[0:1])
                self._drop()
                return False
            return held

    def still_held(self) -> bool:
        """Ask the server whether this session still holds the lock (a dead connection cannot).
        One small query on the lock's own connection: cheap enough before every job run."""
        with self._mutex:
            if self._conn is None or self._conn.closed:
                return False
            try:
                return advisory_locks.held(self._conn, self._key, by_this_session=True)
            except psycopg.Error:
                self._drop()
                return False

    def release(self) -> None:
        with self._mutex:
            if self._conn is not None and not self._conn.closed:
                try:
                    advisory_locks.unlock(self._conn, self._key)
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
        row = advisory_locks.holder(conn, advisory_locks.scheduler_leader(lock_object))
    if row is None:
        return None
    return {"pid": row[0], "application_name": row[1], "client_addr": row[2], "since": row[3]}
