"""Drives one run, wave by wave (docs/migrations.md "A run").

planned → running (apply the wave's pending tenants) → soaking (wait, then compare health) →
running (next wave) … → completed. A breach halts the run and reverses the wave where every
revision has a reverse step; failures beyond max_failures halt it too. The results rows say what is
done, so a driver that dies (kill -9, crash) is replaced by one that carries on: every pending
tenant is migrated under its own lock with its version re-read, so nothing is applied twice.
One driver per run at a time: it holds a session-level advisory lock on the catalog.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.db.models import Cluster, MigrationResult, MigrationRun
from control_plane.errors import ControlPlaneError
from control_plane.fleet import apply, dataloss, health, ledger, queries
from control_plane.fleet.options import Options
from control_plane.fleet.revisions import DEFAULT, Catalog
from control_plane.services import audit
from control_plane.uptime import alerts

_log = logging.getLogger(__name__)
# Results are written in batches: at most this many per statement, and at least once a second
# (the page's progress lags by a second at most); a failure at once.
RESULT_BATCH = 500
RESULT_EVERY_S = 1.0


def _nothing(*_args: object) -> None:
    return None


@dataclass
class Hooks:
    """What a caller (CLI, worker, test) plugs in. Tests inject revisions, faults and the soak."""

    catalog: Catalog = DEFAULT
    after_tenant: Callable[[apply.Outcome], None] = _nothing  # raising here stands for a crash
    on_soak: Callable[[int, int], None] = _nothing  # (run id, wave) when a soak starts
    on_retry: apply.RetryHook = _nothing
    progress: Callable[[int, int, int], None] = _nothing  # (wave, done, total)
    clock: Callable[[], datetime] = ledger.now
    sleep: Callable[[float], None] = time.sleep
    should_stop: Callable[[], bool] = lambda: False  # the worker's timeout
    thresholds: health.Thresholds = field(default_factory=health.Thresholds)
    backoff_max_s: float = 2.0


@dataclass(frozen=True)
class Step:
    """Where a call to advance() left the run."""

    status: str
    detail: str


def advance(ctx: AppContext, actor: Actor, run_id: int, *, wait: bool, hooks: Hooks | None = None) -> Step:
    """Move the run on until it waits (a soak, with wait=False), stops or finishes."""
    hooks = hooks or Hooks()
    with ctx.clusters.connect_catalog(autocommit=True) as lock_conn:
        if not lock_conn.execute(queries.run_lock(run_id)).fetchone()[0]:
            return Step("busy", f"run {run_id} is being driven by another process")
        while True:
            step = _advance_once(ctx, actor, run_id, wait, hooks)
            if step is not None:
                return step


def _advance_once(ctx: AppContext, actor: Actor, run_id: int, wait: bool, hooks: Hooks) -> Step | None:
    with ctx.session_factory() as session:
        run = ledger.get_run(session, run_id)
        status, wave, options = run.status, run.current_wave, Options.from_dict(run.options)
        waves, soak_until = len(run.waves), run.soak_until
        if status == "planned":
            _transition(session, actor, run, "running", "fleet.run.start", started_at=hooks.clock(),
                        wave_started_at=hooks.clock())
            return None
    if status in ("halted", "completed", "rolled_back"):
        return Step(status, f"run {run_id} is {status}")
    if hooks.should_stop():
        return Step(status, "stopped before its time ran out; the next call carries on")
    if status == "running":
        return _run_wave(ctx, actor, run_id, wave=wave, waves=waves, options=options, hooks=hooks)
    # soaking
    remaining = (soak_until - hooks.clock()).total_seconds() if soak_until else 0
    if remaining > 0:
        if not wait:
            return Step("soaking", f"wave {wave} soaking until {soak_until.isoformat()}")
        hooks.sleep(min(remaining, 1.0))  # re-read the run each second: a halt from elsewhere is seen
        return None
    return _judge(ctx, actor, run_id, wave=wave, options=options, hooks=hooks)


def _run_wave(ctx, actor, run_id: int, *, wave: int, waves: int, options: Options, hooks: Hooks) -> Step | None:
    stopped = _apply_pending(ctx, actor, run_id, wave=wave, options=options, hooks=hooks)
    with ctx.session_factory() as session:
        run = ledger.get_run(session, run_id, lock=True)
        if run.status != "running":
            return None  # halted from elsewhere while applying
        failed = ledger.failures(session, run_id)
        if failed > options.max_failures:
            reason = (f"{failed} tenant(s) failed, more than --max-failures {options.max_failures}; "
                      "see `tenants migrate status` for their errors")
            _halt(ctx, session, actor, run, reason)
            return Step("halted", reason)
        if stopped:
            return Step("running", "stopped before its time ran out; the next call carries on")
        if ledger.results(session, run_id, wave=wave, status="pending"):
            return None
        if wave >= waves:
            _transition(session, actor, run, "completed", "fleet.run.complete", finished_at=hooks.clock())
            return Step("completed", f"run {run_id} completed")
        now = hooks.clock()
        _transition(session, actor, run, "soaking", "fleet.run.soak", soak_until=now + timedelta(
            seconds=run.soak_seconds), audit_detail={"wave": wave, "soak_seconds": run.soak_seconds})
    hooks.on_soak(run_id, wave)
    return None


def _judge(ctx, actor, run_id: int, *, wave: int, options: Options, hooks: Hooks) -> Step | None:
    with ctx.session_factory() as session:
        run = ledger.get_run(session, run_id, lock=True)
        if run.status != "soaking":
            return None
        end = hooks.clock()
        migrated = ledger.slugs(session, run_id, status="applied", waves=(1, wave))
        baseline = ledger.slugs(session, run_id, status="pending")
        verdict = health.judge(*health.measure(session, migrated, baseline, run.wave_started_at, end),
                               hooks.thresholds, _error_counts(ctx, migrated, baseline, run.wave_started_at, end))
        decision = {"wave": wave, "window": [run.wave_started_at.isoformat(), end.isoformat()],
                    "verdict": "halt" if verdict.breach else "promote", **verdict.as_dict()}
        run.decisions = [*run.decisions, decision]
        if not verdict.breach:
            _transition(session, actor, run, "running", "fleet.run.promote", current_wave=wave + 1,
                        wave_started_at=end, soak_until=None, audit_detail=decision)
            return None
        reason = f"wave {wave} breached its health thresholds: " + "; ".join(verdict.reasons)
        _halt(ctx, session, actor, run, reason, detail=decision)
    reversed_ok = reverse(ctx, actor, run_id, waves=(wave, wave), options=options, hooks=hooks)
    return Step("halted", reason + ("; the wave was reversed" if reversed_ok else "; the wave was not reversed "
                                    "completely (a revision has no reverse step, a reverse failed, or reversing "
                                    "would drop rows: an admin rolls back with --allow-data-loss)"))


def _error_counts(ctx: AppContext, migrated: list[str], baseline: list[str], start: datetime, end: datetime
                  ) -> tuple[health.ErrorCounts | None, health.ErrorCounts | None] | None:
    """CloudWatch error counts per group where per-tenant metrics are configured (or the demo's
    simulated AWS runs); a CloudWatch that cannot be read counts as no data: it never blocks."""
    if not (ctx.settings.cloudwatch_tenant_metrics or "simulated_aws" in ctx.extras):
        return None
    try:
        return health.error_counts(ctx.aws.client("cloudwatch"), ctx.settings.cloudwatch_namespace,
                                   ctx.settings.cloudwatch_tenant_dimension, migrated, baseline, start=start, end=end)
    except ControlPlaneError as exc:
        _log.warning("soak error rate: CloudWatch could not be read (%s)", exc)
        return None, None


@dataclass(frozen=True)
class Back:
    """A tenant to put back at its from-version: what _fan_out needs of a ledger row."""

    tenant_slug: str
    cluster_name: str
    from_version: int
    to_version: int | None  # where it is believed to be


def reverse(ctx: AppContext, actor: Actor, run_id: int, *, waves: tuple[int, int], options: Options,
            hooks: Hooks) -> bool:
    """After a breach: put the applied tenants of these waves back at their from-version, where
    every revision between has a reverse step and reversing drops no rows (those are left for an
    admin's rollback: docs/migrations.md "Rollback that drops data"). False when some were not."""
    with ctx.session_factory() as session:
        rows = [r for r in ledger.results(session, run_id, status="applied") if waves[0] <= r.wave <= waves[1]]
    if not all(hooks.catalog.reversible(r.to_version or r.from_version, r.from_version) for r in rows):
        return False
    envs = _envs(ctx, [r.cluster_name for r in rows])
    losses = [dataloss.Loss(r.tenant_slug, r.cluster_name, envs.get(r.cluster_name), r.to_version or r.from_version,
                            r.from_version) for r in rows]
    dataloss.measure(ctx, losses, hooks.catalog)
    keep = {loss.slug for loss in losses if loss.total}
    backs = [Back(r.tenant_slug, r.cluster_name, r.from_version, r.to_version) for r in rows
             if r.tenant_slug not in keep]
    outcomes = reverse_tenants(ctx, actor, run_id, backs, options=options, hooks=hooks)
    return not keep and all(o.status == "applied" for o in outcomes)


def reverse_tenants(ctx: AppContext, actor: Actor, run_id: int, backs: list[Back], *, options: Options,
                    hooks: Hooks) -> list[apply.Outcome]:
    """Each tenant back at its from-version (all its revisions in one transaction), the results
    recorded as reversed or reverse_failed with the version each tenant is really at."""
    with _ThreadConnections(ctx) as connections:
        return _fan_out(ctx, backs, options, hooks, lambda r, tenant: apply.migrate(
            ctx, actor, tenant, r.from_version, catalog=hooks.catalog, limits=options.limits(hooks.backoff_max_s),
            run_id=run_id, on_retry=hooks.on_retry, connection=connections.get), reverse=True, run_id=run_id,
            stop=lambda: False)


def _envs(ctx: AppContext, clusters: list[str]) -> dict[str, str | None]:
    with ctx.session_factory() as session:
        return dict(session.execute(select(Cluster.name, Cluster.url_env)
                                    .where(Cluster.name.in_(sorted(set(clusters))))).all())


def _apply_pending(ctx, actor, run_id: int, *, wave: int, options: Options, hooks: Hooks) -> bool:
    """Migrate the wave's pending tenants; True when stopped early (halted, time out, failures)."""
    with ctx.session_factory() as session:
        rows = ledger.results(session, run_id, wave=wave, status="pending")
        target = ledger.get_run(session, run_id).target_version
        failed = ledger.failures(session, run_id)
    limits = options.limits(hooks.backoff_max_s)
    failures = {"n": failed}
    lock = threading.Lock()
    halted = _HaltWatch(ctx, run_id)

    def stop() -> bool:
        return failures["n"] > options.max_failures or hooks.should_stop() or halted.seen()

    def work(row: MigrationResult, tenant: apply.Tenant) -> apply.Outcome:
        outcome = apply.migrate(ctx, actor, tenant, target, catalog=hooks.catalog, limits=limits,
                                run_id=run_id, on_retry=hooks.on_retry, connection=connections.get)
        if outcome.status == "failed":
            with lock:
                failures["n"] += 1
        return outcome

    with _ThreadConnections(ctx) as connections:
        done = _fan_out(ctx, rows, options, hooks, work, reverse=False, run_id=run_id, stop=stop, wave=wave)
    return len(done) < len(rows)


class _ThreadConnections:
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

    def __enter__(self) -> _ThreadConnections:
        return self

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.stack.close()


def _fan_out(ctx, rows: list[MigrationResult] | list[Back], options: Options, hooks: Hooks, fn, *, reverse: bool,
             run_id: int, stop: Callable[[], bool], wave: int = 0) -> list[apply.Outcome]:
    """fn(row) for each row, at most options.concurrency at once per cluster: that many workers per
    cluster, each taking its cluster's next row itself (in the rows' order), so no tenant waits on a
    hand-off between threads. Results recorded in batches (a failure at once). No new row is taken
    once stop() says so; re-raises the first crash after recording what was done."""
    clusters = list(dict.fromkeys(r.cluster_name for r in rows))
    envs = _envs(ctx, clusters)
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
                outcome = fn(row, apply.Tenant(row.tenant_slug, row.cluster_name, envs.get(row.cluster_name),
                                               row.to_version or row.from_version))
                with lock:
                    done.append(outcome)
                    pending.append(outcome)
                    hooks.progress(wave, len(done), len(rows))
                    full = (len(pending) >= RESULT_BATCH or outcome.status != "applied"
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


class _HaltWatch:
    """Whether the run was halted from elsewhere; reads the catalog at most once a second."""

    def __init__(self, ctx: AppContext, run_id: int) -> None:
        self.ctx, self.run_id, self.checked, self.halted = ctx, run_id, 0.0, False

    def seen(self) -> bool:
        if not self.halted and time.monotonic() - self.checked >= 1.0:
            self.checked = time.monotonic()
            with self.ctx.session_factory() as session:
                status = session.scalar(select(MigrationRun.status).where(MigrationRun.id == self.run_id))
            self.halted = status != "running"
        return self.halted


def _transition(session: Session, actor: Actor, run: MigrationRun, status: str, action: str, *,
                audit_detail: dict | None = None, **values: object) -> None:
    before = run.status
    run.status = status
    for key, value in values.items():
        setattr(run, key, value)
    run.updated_at = ledger.now()
    audit.record(session, actor, action, target=f"migration run {run.id}", before={"status": before},
                 after={"status": status, "wave": run.current_wave}, detail=audit_detail)
    session.commit()


def _halt(ctx: AppContext, session: Session, actor: Actor, run: MigrationRun, reason: str, *,
          detail: dict | None = None) -> None:
    """Halted, audited and alerted in one transaction; SNS after the commit (when configured)."""
    [alert] = alerts.add(session, [alerts.NewAlert(
        kind="migration_halted", severity="critical", target=f"migration run {run.id}",
        message=f"Fleet migration run {run.id} (to v{run.target_version}) halted: {reason}")])
    alert_id = alert.id
    run.halt_reason = reason
    _transition(session, actor, run, "halted", "fleet.run.halt", audit_detail={"reason": reason, **(detail or {})})
    alerts.publish_pending(ctx, [alert_id])
