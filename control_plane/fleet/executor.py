"""How a run's tenants are worked through (docs/migrations.md "A run"): the fan-out over clusters
with `concurrency` workers each, one catalog connection per worker thread, results written in
batches, and the watch for a halt from elsewhere. What happens to the run itself (its states,
waves and soaks) is fleet/run.py's; this module only executes a list of tenants.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime
from typing import Protocol

import psycopg
from sqlalchemy import select

from control_plane.context import AppContext
from control_plane.db.models import Cluster, MigrationRun
from control_plane.fleet import apply, ledger
from control_plane.fleet.options import Options
from control_plane.fleet.states import ResultStatus, RunStatus

# Results are written in batches: at most this many per statement, and at least once a second
# (the page's progress lags by a second at most); a failure at once.
RESULT_BATCH = 500
RESULT_EVERY_S = 1.0


class Row(Protocol):
    """A tenant to work on: a ledger row (MigrationResult) or a run.Back."""

    tenant_slug: str
    cluster_name: str
    from_version: int
    to_version: int | None


class Plugged(Protocol):
    """What of the caller's hooks (run.Hooks) the fan-out uses."""

    clock: Callable[[], datetime]
    progress: Callable[[int, int, int], None]  # (wave, done, total)
    after_tenant: Callable[[apply.Outcome], None]  # raising here stands for a crash


def envs(ctx: AppContext, clusters: list[str]) -> dict[str, str | None]:
    with ctx.session_factory() as session:
        return dict(session.execute(select(Cluster.name, Cluster.url_env)
                                    .where(Cluster.name.in_(sorted(set(clusters))))).all())


class ThreadConnections:
    """One catalog connection (autocommit: apply's scripts say BEGIN and COMMIT) per worker thread
    for the whole wave, instead of a pool checkout and its liveness ping per tenant step; a
    connection that was lost or closed is replaced."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx, self.local, self.stack = ctx, threading.local(), ExitStack()
        self.lock = threading.Lock()

    def get(self) -> psycopg.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            opened = self.ctx.clusters.connect_catalog(autocommit=True)
            with self.lock:
                conn = self.local.conn = self.stack.enter_context(opened)
        return conn

    def __enter__(self) -> ThreadConnections:
        return self

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.stack.close()


def fan_out(ctx: AppContext, rows: Sequence[Row], options: Options, hooks: Plugged,
            fn: Callable[[Row, apply.Tenant], apply.Outcome], *, reverse: bool, run_id: int,
            stop: Callable[[], bool], wave: int = 0) -> list[apply.Outcome]:
    """fn(row) for each row, at most options.concurrency at once per cluster: that many workers per
    cluster, each taking its cluster's next row itself (in the rows' order), so no tenant waits on a
    hand-off between threads. Results recorded in batches (a failure at once). No new row is taken
    once stop() says so; re-raises the first crash after recording what was done."""
    clusters = list(dict.fromkeys(r.cluster_name for r in rows))
    known = envs(ctx, clusters)
    queues = {c: iter([r for r in rows if r.cluster_name == c]) for c in clusters}
    done: list[apply.Outcome] = []
    crashed: list[BaseException] = []
    lock = threading.Lock()
    pending: list[apply.Outcome] = []  # results not yet written: flushed in batches, and on the way out
    flushed = [hooks.clock()]

    def flush() -> None:
        with lock:
            batch = pending[:]
            pending.clear()
            flushed[0] = hooks.clock()
        if batch:
            with ctx.session_factory() as session:
                ledger.record(session, run_id, batch, reverse=reverse)
                session.commit()

    def worker(cluster: str) -> None:
        try:
            while True:
                with lock:  # stop() is asked by one worker at a time (it may read the catalog)
                    row = None if crashed or stop() else next(queues[cluster], None)
                if row is None:
                    return
                outcome = fn(row, apply.Tenant(row.tenant_slug, row.cluster_name, known.get(row.cluster_name),
                                               row.to_version or row.from_version))
                with lock:
                    done.append(outcome)
                    pending.append(outcome)
                    hooks.progress(wave, len(done), len(rows))
                    full = (len(pending) >= RESULT_BATCH or outcome.status != ResultStatus.APPLIED
                            or (hooks.clock() - flushed[0]).total_seconds() >= RESULT_EVERY_S)
                if full:
                    flush()
                hooks.after_tenant(outcome)
        except BaseException as exc:
            crashed.append(exc)

    try:
        with ThreadPoolExecutor(max_workers=max(1, options.concurrency * len(clusters))) as pool:
            for cluster in clusters:
                for _ in range(options.concurrency):
                    pool.submit(worker, cluster)
    finally:
        flush()  # a crash that lets us run (an exception) still records what was done; kill -9 does not,
        # and then the resumed run finds those tenants at their target (nothing is applied twice)
    if crashed:
        raise crashed[0]
    return done


class HaltWatch:
    """Whether the run was halted from elsewhere; reads the catalog at most once a second."""

    def __init__(self, ctx: AppContext, run_id: int) -> None:
        self.ctx, self.run_id, self.checked, self.halted = ctx, run_id, 0.0, False

    def seen(self) -> bool:
        if not self.halted and time.monotonic() - self.checked >= 1.0:
            self.checked = time.monotonic()
            with self.ctx.session_factory() as session:
                status = session.scalar(select(MigrationRun.status).where(MigrationRun.id == self.run_id))
            self.halted = status != RunStatus.RUNNING
        return self.halted
