"""Move a tenant to another cluster (docs/moves.md): online by logical replication, or offline.

`request` checks and records the move; `drive` takes it step by step to the end, recording every
step in the catalog, so a run killed anywhere is finished by driving it again (`tenants move`
once more) or undone by `cancel` before the cut-over. One process drives a move at a time: it
holds a session-level advisory lock on the catalog, released by the server if that process dies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from sqlalchemy import select

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.db.connect_errors import reason
from control_plane.db.models import Cluster, Tenant, TenantMove
from control_plane.domain.lifecycle import Status
from control_plane.domain.slugs import validate_slug
from control_plane.domain.text import CODE_MAX, clean_text
from control_plane.errors import Conflict, ControlPlaneError, InvalidInput, NotFound
from control_plane.moves import ledger, preflight, steps
from control_plane.moves.ledger import CUTOVER, MoveView
from control_plane.services import audit
from control_plane.services.authorization import authorize

log = logging.getLogger(__name__)
FaultHook = Callable[[str], None]  # tests: raising at a step name simulates a crash there
Progress = Callable[[str], None]


@dataclass(frozen=True)
class MoveOptions:
    offline: bool = False
    sync_timeout_s: float = 3600.0  # initial copy plus catch-up, before writes are blocked
    catchup_timeout_s: float = 60.0  # after writes are blocked: the subscriber reaching the source
    poll_s: float = 0.05
    lock_timeout_ms: int = 2000  # waiting for the tenant's last writers at the cut-over


# Steps after which a subscription reads the source as the move's role (a resumed move makes
# sure that role is there); `cleaned_up` drops it, and so does an undo.
_REPLICATING = ("subscribed", "synchronised", "writes_blocked", "caught_up", "sequences_copied", "verified")


def _no_fault(step: str) -> None:
    return None


def _quiet(message: str) -> None:
    return None


def _now(ctx: AppContext) -> datetime:
    clock = ctx.extras.get("clock")
    return clock() if clock else datetime.now(UTC)


# --- checks --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Readiness:
    online: bool
    explanation: str  # what is missing for an online move, empty when nothing is


def readiness(ctx: AppContext, actor: Actor, slug: str, target: str) -> Readiness:
    """Whether the tenant can move to `target` online; the app shows it before anyone confirms."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.move.check", tenant_slug=slug)
    with ctx.session_factory() as session:
        tenant = _tenant(session, slug)
        source, dest = _cluster(session, tenant.cluster_name), _target(session, tenant, target)
    found = _assess(ctx, source, dest)
    return Readiness(found.online, found.explain(source.name, dest.name))


def _assess(ctx: AppContext, source: Cluster, target: Cluster) -> preflight.Readiness:
    with ctx.clusters.connect(source.url_env, autocommit=True) as conn:
        src = preflight.ServerFacts.read(conn)
    with ctx.clusters.connect(target.url_env, autocommit=True) as conn:
        dst = preflight.ServerFacts.read(conn)
    if src.identity == dst.identity:
        raise InvalidInput(f"Clusters {source.name} and {target.name} are the same database; a move needs "
                           "another one.")
    return preflight.assess(src, dst)


# --- start / drive -------------------------------------------------------------------------

def start(ctx: AppContext, actor: Actor, slug: str, target: str, options: MoveOptions = MoveOptions(), *,
          progress: Progress = _quiet, fault: FaultHook = _no_fault) -> MoveView:
    """Move `slug` to `target` now, or finish its interrupted move there."""
    move = request(ctx, actor, slug, target, options)
    return drive(ctx, actor, move.id, options, progress=progress, fault=fault)


def request(ctx: AppContext, actor: Actor, slug: str, target: str, options: MoveOptions = MoveOptions()) -> MoveView:
    """Check and record a move (or return the tenant's running move to the same target)."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_MOVE, "tenant.move", tenant_slug=slug)
    target = clean_text(target, "Target cluster", CODE_MAX)
    with ctx.session_factory() as session:
        tenant = _tenant(session, slug)
        running = ledger.active(session, slug)
        if running is not None:
            if running.target_cluster != target:
                raise Conflict(f"Tenant {slug!r} is already being moved to cluster {running.target_cluster} "
                               f"(move #{running.id}); finish it with `tenants move {slug} --to "
                               f"{running.target_cluster}` or cancel it with `tenants move cancel {slug}`.")
            return ledger.view(running)
        source, dest = _cluster(session, tenant.cluster_name), _target(session, tenant, target)
    found = _assess(ctx, source, dest)
    if not options.offline and not found.online:
        raise Conflict(f"Cannot move tenant {slug!r} online: {found.explain(source.name, dest.name)}. "
                       "Add --offline to move it with its writes blocked for the whole copy.")
    with ctx.session_factory() as session:
        tenant = _tenant(session, slug, lock=True)  # suspend, archive and a second move wait on this row
        if tenant.status not in (Status.ACTIVE, Status.SUSPENDED):
            raise Conflict(f"Cannot move tenant {slug!r}: it is {tenant.status}; only active or suspended "
                           "tenants move.")
        ledger.refuse_if_moving(session, slug, "move")
        if tenant.cluster_name != source.name:
            raise Conflict(f"Tenant {slug!r} changed cluster while the move was being checked; try again.")
        move = TenantMove(tenant_slug=slug, source_cluster=source.name, target_cluster=dest.name,
                          mode="offline" if options.offline else "online",
                          template_version=tenant.template_version or 1, tenant_status=tenant.status,
                          created_by=actor.name)
        session.add(move)
        session.flush()
        audit.record(session, actor, "tenant.move.start", tenant_slug=slug, target=f"move:{move.id}",
                     before={"cluster": source.name}, after={"cluster": dest.name},
                     detail={"mode": move.mode, "template_version": move.template_version})
        session.commit()
        return ledger.view(move)


def drive(ctx: AppContext, actor: Actor, move_id: int, options: MoveOptions = MoveOptions(), *,
          progress: Progress = _quiet, fault: FaultHook = _no_fault) -> MoveView:
    authorize(ctx, actor, Permission.TENANTS_MOVE, "tenant.move")
    with _driver_lock(ctx, move_id) as held:
        if not held:
            raise Conflict(f"Move #{move_id} is being driven by another process right now; follow it with "
                           "`tenants move status`.")
        move = ledger.get(ctx, move_id)
        if move.status != "running":
            return ledger.view(move)
        ends = _ends(ctx, move)
        order = ledger.steps_of(move.mode)
        last_check = [0.0]

        last_touch = [time.monotonic()]

        def check() -> None:  # a cancel asked for from elsewhere, read at most twice a second
            if time.monotonic() - last_check[0] < 0.5:
                return
            last_check[0] = time.monotonic()
            if ledger.get(ctx, move_id).cancel_requested:
                raise steps.MoveAborted("cancelled")
            if time.monotonic() - last_touch[0] > 60:  # alive: a long initial copy is not a stalled move
                last_touch[0] = time.monotonic()
                ledger.set_fields(ctx, move_id, _now(ctx))

        try:
            done = order.index(move.step) + 1 if move.step in order else 0
            if move.mode == "online" and move.step in _REPLICATING and steps.repair_credentials(ends):
                progress("the move's replication role was gone from the source: made again, new password")
            for step in order[done:]:
                move = ledger.get(ctx, move_id)
                if move.cancel_requested and order.index(step) <= order.index(CUTOVER):
                    raise steps.MoveAborted("cancelled")
                began = time.monotonic()
                fields = _run_step(ctx, actor, move, ends, step, options=options, progress=progress, check=check,
                                   fault=fault)
                if step == CUTOVER:
                    continue  # recorded with the catalog switch, in its transaction
                fault(step)
                move = ledger.record_step(ctx, move_id, step, time.monotonic() - began, _now(ctx), **fields)
                progress(f"{step} ({time.monotonic() - began:.1f} s)")
            if done == len(order) and move.mode == "online":  # resumed after its last step: make sure
                steps.drop_move_role(ends)
            move = ledger.get(ctx, move_id)
            return _finish(ctx, actor, move)
        except steps.MoveAborted:
            return _undo(ctx, actor, ledger.get(ctx, move_id), ends, status="cancelled", error=None)
        except steps.VerificationFailed as exc:
            _undo(ctx, actor, ledger.get(ctx, move_id), ends, status="failed", error=str(exc))
            raise
        except ControlPlaneError as exc:
            ledger.set_fields(ctx, move_id, _now(ctx), error=str(exc))
            raise
        except psycopg.Error as exc:  # a cluster refused a statement (rights, a setting): one line, recorded
            stopped = ledger.get(ctx, move_id)
            message = (f"Move #{move_id} of {stopped.tenant_slug} stopped after step {stopped.step}: {reason(exc)}. "
                       f"Fix the cause, then run the move again or cancel it with `tenants move cancel "
                       f"{stopped.tenant_slug}`.")
            ledger.set_fields(ctx, move_id, _now(ctx), error=message)
            raise ControlPlaneError(message) from exc


def _run_step(ctx: AppContext, actor: Actor, move: TenantMove, ends: steps.Ends, step: str, *, options: MoveOptions,
              progress: Progress, check: Callable[[], None], fault: FaultHook) -> dict:
    if step == "target_prepared":
        found = steps.source_version(ends)
        if found != move.template_version:
            raise Conflict(f"Tenant {move.tenant_slug}'s schema on {move.source_cluster} is at template version "
                           f"{found}, the catalog says {move.template_version}; see `tenants verify-schemas`. "
                           "Cancel this move, fix the drift, then move again.")
        steps.prepare_target(ends, move.template_version)
    elif step == "published":
        steps.publish(ends)
    elif step == "subscribed":
        steps.subscribe(ends)
    elif step == "synchronised":
        steps.wait_synchronised(ends, options.sync_timeout_s, options.poll_s, progress, check)
    elif step == "writes_blocked":
        if move.writes_blocked_at is None:
            # Recorded before the revoke (its first statement): a mover that dies after revoking
            # leaves the true start behind, and the blocked time counts from it.
            ledger.set_fields(ctx, move.id, _now(ctx), writes_blocked_at=_now(ctx))
        lsn = steps.block_writes(ends, options.lock_timeout_ms)
        progress("writes blocked")
        return {"cutover_lsn": lsn}
    elif step == "caught_up":
        steps.wait_caught_up(ends, move.cutover_lsn or "0/0", options.catchup_timeout_s, options.poll_s, check)
    elif step == "copied":
        return {"verification": {"copied_rows": steps.copy_data(ends)}}
    elif step == "sequences_copied":
        steps.copy_sequences(ends)
    elif step == "verified":
        return {"verification": steps.verify(ends, move.template_version)}
    elif step == CUTOVER:
        _switch(ctx, actor, move, ends, fault)
    elif step == "cleaned_up":
        steps.drop_replication(ends)
        retained = f"moved_{move.id}_{move.tenant_slug}"
        until = _now(ctx) + timedelta(days=ctx.settings.archive_retention_days)
        steps.retire_source(ends, retained, f"control plane: tenant {move.tenant_slug} moved to cluster "
                                            f"{move.target_cluster} (move #{move.id}); kept read-only until "
                                            f"{until:%Y-%m-%d}, then purged")
        return {"retained_schema": retained, "retain_until": until}
    return {}


def _switch(ctx: AppContext, actor: Actor, move: TenantMove, ends: steps.Ends, fault: FaultHook) -> None:
    """The cut-over's commit point: access on the target, then the catalog's cluster and the step,
    in one catalog transaction. Before it, cancel undoes everything; after it, the tenant lives on
    the target."""
    with ctx.session_factory() as session:
        tenant = _tenant(session, move.tenant_slug)
        active = tenant.status == Status.ACTIVE
    steps.grant_on_target(ends, active)
    fault("granted_on_target")
    now = _now(ctx)
    with ctx.session_factory() as session:
        tenant = _tenant(session, move.tenant_slug, lock=True)
        row = session.get(TenantMove, move.id, with_for_update=True)
        assert row is not None
        if row.cancel_requested:
            raise steps.MoveAborted("cancelled")
        before = tenant.cluster_name
        tenant.cluster_name, tenant.updated_at = move.target_cluster, now
        blocked = row.writes_blocked_at
        row.writes_unblocked_at = now
        row.writes_blocked_ms = round((now - blocked).total_seconds() * 1000) if blocked else None
        row.step, row.updated_at = CUTOVER, now
        row.steps = [*row.steps, {"step": CUTOVER, "at": now.isoformat(), "ms": 0}]
        audit.record(session, actor, "tenant.move.switch", tenant_slug=move.tenant_slug, target=f"move:{move.id}",
                     before={"cluster": before}, after={"cluster": move.target_cluster},
                     detail={"writes_blocked_ms": row.writes_blocked_ms})
        session.commit()


def _finish(ctx: AppContext, actor: Actor, move: TenantMove) -> MoveView:
    now = _now(ctx)
    with ctx.session_factory() as session:
        row = session.get(TenantMove, move.id, with_for_update=True)
        assert row is not None
        if row.status == "running":
            row.status, row.finished_at, row.updated_at, row.error = "completed", now, now, None
            audit.record(session, actor, "tenant.move", tenant_slug=row.tenant_slug, target=f"move:{row.id}",
                         before={"cluster": row.source_cluster}, after={"cluster": row.target_cluster},
                         detail={"mode": row.mode, "writes_blocked_ms": row.writes_blocked_ms,
                                 "retained_schema": row.retained_schema})
        session.commit()
        return ledger.view(row)


# --- cancel / undo -------------------------------------------------------------------------

def cancel(ctx: AppContext, actor: Actor, slug: str, *, wait_s: float = 30.0) -> MoveView:
    """Before the cut-over: drop what the move made and give the source back its access. The
    process driving the move does it when it notices; with none, this call does."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_MOVE, "tenant.move.cancel", tenant_slug=slug)
    with ctx.session_factory() as session:
        move = ledger.active(session, slug, lock=True)
        if move is None:
            raise NotFound(f"No move of tenant {slug!r} is running.")
        if move.step in (CUTOVER, "cleaned_up"):
            raise Conflict(f"Tenant {slug!r} already runs on cluster {move.target_cluster} (move #{move.id} is past "
                           f"its cut-over); to go back, move it to {move.source_cluster} once this move ends.")
        move.cancel_requested, move_id = True, move.id
        audit.record(session, actor, "tenant.move.cancel", tenant_slug=slug, target=f"move:{move_id}",
                     detail={"step": move.step})
        session.commit()
    with _driver_lock(ctx, move_id) as held:
        if held:
            row = ledger.get(ctx, move_id)
            if row.status != "running":
                return ledger.view(row)
            if row.step in (CUTOVER, "cleaned_up"):  # the driver got there first
                raise Conflict(f"Move #{move_id} reached its cut-over before the cancel; the tenant stays on "
                               f"{row.target_cluster}.")
            return _undo(ctx, actor, row, _ends(ctx, row), status="cancelled", error=None)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:  # the driver undoes it and ends the move
        row = ledger.get(ctx, move_id)
        if row.status != "running":
            return ledger.view(row)
        time.sleep(0.1)
    return ledger.view(ledger.get(ctx, move_id))


def _undo(ctx: AppContext, actor: Actor, move: TenantMove, ends: steps.Ends, *, status: str,
          error: str | None) -> MoveView:
    steps.drop_replication(ends)
    if move.step != "requested" or steps.target_is_leftover(ends, move.template_version):
        steps.drop_target_schema(ends)
    with ctx.session_factory() as session:
        tenant_active = _tenant(session, move.tenant_slug).status == Status.ACTIVE
    if tenant_active:
        steps.grant_on_source(ends)  # what block_writes revoked (a no-op if it never ran)
    now = _now(ctx)
    with ctx.session_factory() as session:
        row = session.get(TenantMove, move.id, with_for_update=True)
        assert row is not None
        row.status, row.error, row.finished_at, row.updated_at = status, error, now, now
        if row.writes_blocked_at is not None and row.writes_unblocked_at is None:
            row.writes_unblocked_at = now
            row.writes_blocked_ms = round((now - row.writes_blocked_at).total_seconds() * 1000)
        audit.record(session, actor, f"tenant.move.{'undo' if status == 'cancelled' else 'fail'}",
                     tenant_slug=move.tenant_slug, target=f"move:{move.id}", outcome="ok" if error is None else "error",
                     reason=error, detail={"step": move.step, "status": status})
        session.commit()
        return ledger.view(row)


# --- reads ---------------------------------------------------------------------------------

def history(ctx: AppContext, actor: Actor, slug: str | None = None, limit: int = 100) -> list[MoveView]:
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.move.history", tenant_slug=slug)
    if slug:
        slug = validate_slug(slug)
    with ctx.session_factory() as session:
        return ledger.history(session, slug, limit)


def current(ctx: AppContext, actor: Actor, slug: str) -> MoveView | None:
    """The tenant's running move, else its latest one (None when it never moved)."""
    moves = history(ctx, actor, slug, limit=1)
    return moves[0] if moves else None


# --- in the app: a move runs in a thread of the server process -----------------------------

def start_in_background(ctx: AppContext, actor: Actor, slug: str, target: str,
                        options: MoveOptions = MoveOptions()) -> MoveView:
    """Check and record the move now (errors reach the caller), then drive it in a thread. If the
    app stops, the move stays `running` and is finished by `resume_in_background` or the CLI."""
    move = request(ctx, actor, slug, target, options)
    resume_in_background(ctx, actor, move.id, options)
    return move


def resume_in_background(ctx: AppContext, actor: Actor, move_id: int, options: MoveOptions = MoveOptions()) -> None:
    authorize(ctx, actor, Permission.TENANTS_MOVE, "tenant.move")

    def run() -> None:
        try:
            drive(ctx, actor, move_id, options)
        except ControlPlaneError as exc:  # recorded on the move by drive(); the page shows it
            log.warning("move #%s stopped: %s", move_id, exc)
        except Exception:
            log.exception("move #%s crashed", move_id)

    threading.Thread(target=run, name=f"tenant-move-{move_id}", daemon=True).start()


# --- helpers -------------------------------------------------------------------------------

@contextmanager
def _driver_lock(ctx: AppContext, move_id: int) -> Iterator[bool]:
    with ctx.clusters.connect_catalog(autocommit=True) as conn:
        key = sql.Literal(ledger.driver_key(move_id))
        held = conn.execute(sql.SQL("SELECT pg_try_advisory_lock(hashtextextended({}, 0))").format(key)).fetchone()[0]
        try:
            yield held
        finally:
            if held:
                conn.execute(sql.SQL("SELECT pg_advisory_unlock(hashtextextended({}, 0))").format(key))


def _ends(ctx: AppContext, move: TenantMove) -> steps.Ends:
    with ctx.session_factory() as session:
        source, target = _cluster(session, move.source_cluster), _cluster(session, move.target_cluster)
    return steps.Ends(ctx.clusters, move.tenant_slug, move.id, source.url_env, target.url_env, source.name,
                      target.name)


def _tenant(session, slug: str, lock: bool = False) -> Tenant:
    query = select(Tenant).where(Tenant.slug == slug)
    tenant = session.scalar(query.with_for_update() if lock else query)
    if tenant is None:
        raise NotFound(f"No tenant {slug!r}.")
    return tenant


def _cluster(session, name: str) -> Cluster:
    cluster = session.get(Cluster, name)
    if cluster is None:
        raise NotFound(f"Cluster {name!r} is not registered (anymore); register it again with `clusters add`.")
    return cluster


def _target(session, tenant: Tenant, name: str) -> Cluster:
    if not name:
        raise InvalidInput("Name the cluster to move to (--to CLUSTER).")
    cluster = session.get(Cluster, name)
    if cluster is None:
        known = ", ".join(session.scalars(select(Cluster.name).order_by(Cluster.name)))
        raise InvalidInput(f"Unknown cluster {name!r}; registered clusters: {known}.")
    if cluster.name == tenant.cluster_name:
        raise InvalidInput(f"Tenant {tenant.slug!r} is already on cluster {name}.")
    return cluster
