"""Shared by the tenant-move tests: tenant data written through the data plane, and what a
schema holds on a cluster (rows and checksums per table), read with the move's own query."""

from __future__ import annotations

import threading
import time

import psycopg

from control_plane.adapters.clusters import ClusterConnections
from control_plane.adapters.tenant_context import tenant_session
from control_plane.domain.slugs import schema_name
from control_plane.moves import steps


def fill(clusters: ClusterConnections, url_env: str | None, slug: str, users: int = 50) -> None:
    """Users, a team, projects, tasks and comments: every table and sequence of the template gets rows."""
    with tenant_session(clusters.pool(url_env, slug), slug) as conn:
        conn.execute("INSERT INTO users (email, full_name) SELECT 'u' || g || '@x.test', 'User ' || g "
                     "FROM generate_series(1, %s) g", (users,))
        team = conn.execute("INSERT INTO teams (name) VALUES ('core') RETURNING id").fetchone()[0]
        conn.execute("INSERT INTO team_members (team_id, user_id) SELECT %s, id FROM users", (team,))
        project = conn.execute("INSERT INTO projects (team_id, name) VALUES (%s, 'p') RETURNING id",
                               (team,)).fetchone()[0]
        conn.execute("INSERT INTO tasks (project_id, assignee_id, title) SELECT %s, id, 'task ' || id FROM users",
                     (project,))
        conn.execute("INSERT INTO comments (task_id, author_id, body) SELECT id, assignee_id, 'c' FROM tasks")
        conn.execute("INSERT INTO events (kind, payload) SELECT 'seed', jsonb_build_object('n', g) "
                     "FROM generate_series(1, %s) g", (users,))


def contents(clusters: ClusterConnections, url_env: str | None, schema: str) -> dict[str, list]:
    with clusters.connect(url_env, autocommit=True) as conn:
        return steps.checksums(conn, schema)


class Writer:
    """A client of the tenant committing small transactions through the data plane, following the
    catalog's cluster for the tenant as the application does; it logs every id it saw committed."""

    def __init__(self, clusters: ClusterConnections, cluster_of, slug: str, pause_s: float = 0.005) -> None:
        self.clusters, self.cluster_of, self.slug, self.pause_s = clusters, cluster_of, slug, pause_s
        self.committed: list[int] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                pool = self.clusters.pool(self.cluster_of(), self.slug)
                with tenant_session(pool, self.slug, statement_timeout_ms=5000) as c:
                    new_id = c.execute("INSERT INTO events (kind, payload) VALUES ('w', jsonb_build_object('n', %s)) "
                                       "RETURNING id", (n,)).fetchone()[0]
                self.committed.append(new_id)
            except psycopg.Error:
                self.errors += 1  # blocked during the cut-over, or a session ended by it: try again
            time.sleep(self.pause_s)


def schema_of(slug: str) -> str:
    return schema_name(slug)
