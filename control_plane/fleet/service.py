"""Fleet migrations as services: every call checks permission, every change is audited in its
own transaction (docs/migrations.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from control_plane.auth.permissions import Actor, Permission
from control_plane.clock import utcnow
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.authorization import authorize
from control_plane.db import advisory_locks
from control_plane.domain.slugs import validate_slug
from control_plane.domain.text import REASON_MAX, clean_text
from control_plane.errors import Conflict, Forbidden, InvalidInput
from control_plane.fleet import dataloss, ledger, planner, queries, reconcile
from control_plane.fleet.options import Options
from control_plane.fleet.run import Back, Hooks, Step, advance, reverse_tenants
from control_plane.fleet.states import ResultStatus, RunAction, RunStatus
from control_plane.tenant_schema.revisions import Catalog, Kind

ROLLBACK_LOCK_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class Plan:
    target: int
    revisions: list[dict[str, Any]]
    waves: list[list[planner.Candidate]]
    skipped: list[planner.Candidate]

    @property
    def tenants(self) -> int:
        return sum(len(w) for w in self.waves)

    def as_dict(self) -> dict[str, Any]:
        return {"target_version": self.target, "revisions": self.revisions, "tenants": self.tenants,
                "waves": [{"wave": i, "tenants": [c.slug for c in w], "plans": sorted({c.plan for c in w}),
                           "clusters": sorted({c.cluster for c in w})} for i, w in enumerate(self.waves, start=1)],
                "skipped": [{"slug": c.slug, "status": c.status} for c in self.skipped]}


def revisions_and_versions(ctx: AppContext, actor: Actor, catalog: Catalog | None = None) -> dict[str, Any]:
    """Every revision and how many tenants (by status) are at each version."""
    authorize(ctx, actor, Permission.MIGRATIONS_READ, "fleet.versions")
    catalog = catalog or Hooks().catalog
    with ctx.session_factory() as session:
        counts = ledger.version_counts(session)
    return {
        "latest": catalog.latest,
        "revisions": [{"version": r.version, "name": r.name, "kind": r.kind.value, "reversible": r.reversible,
                       "tenants": sum(n for v, _, n in counts if v == r.version)} for r in catalog.revisions],
        "tenants": [{"version": v, "status": s, "tenants": n} for v, s, n in counts],
    }


def revision_numbers(ctx: AppContext, actor: Actor, catalog: Catalog | None = None) -> list[int]:
    """The versions a rollout may target (no tenant counts: the start form needs only these)."""
    authorize(ctx, actor, Permission.MIGRATIONS_READ, "fleet.versions")
    return [r.version for r in (catalog or Hooks().catalog).revisions]


def _clean(options: Options, catalog: Catalog) -> Options:
    target = catalog.check(options.target if options.target is not None else catalog.latest)
    tenants = None
    if options.tenants is not None:
        tenants = tuple(sorted({validate_slug(s) for s in options.tenants}))
        if not tenants:
            raise InvalidInput("--tenants names no tenant.")
    waves = planner.parse_waves(",".join(str(w) for w in options.waves))  # the same rule as the CLI's
    return Options(**{**options.as_dict(), "target": target, "tenants": tenants, "waves": waves})


def plan(ctx: AppContext, actor: Actor, options: Options, *, catalog: Catalog | None = None) -> Plan:
    """What a run would do (--dry-run): nothing is changed."""
    authorize(ctx, actor, Permission.MIGRATIONS_READ, "fleet.plan")
    catalog = catalog or Hooks().catalog
    options = _clean(options, catalog)
    return _plan(ctx, options, catalog)


def _plan(ctx: AppContext, options: Options, catalog: Catalog) -> Plan:
    with ctx.session_factory() as session:
        found = ledger.below_target(session, options.target, list(options.tenants) if options.tenants else None)
    if options.tenants:
        missing = sorted(set(options.tenants) - {c.slug for c in found})
        if missing and len(missing) == len(options.tenants):
            raise InvalidInput(f"No tenant named in --tenants is below version {options.target}: "
                               f"{', '.join(missing[:10])}.")
    movable = [c for c in found if c.status in queries.MIGRATABLE]
    skipped = [c for c in found if c.status not in queries.MIGRATABLE]  # not `c not in movable`: quadratic
    revisions = [{"version": r.version, "name": r.name, "kind": r.kind.value, "reversible": r.reversible}
                 for r in catalog.revisions if min((c.version for c in movable), default=options.target) < r.version
                 <= options.target]
    waves = planner.split(movable, options.waves, canary_enterprise=options.canary_enterprise)
    return Plan(options.target, revisions, waves, skipped)


@dataclass(frozen=True)
class Started:
    run_id: int | None  # None: nothing to do
    plan: Plan | None
    message: str


def start(ctx: AppContext, actor: Actor, options: Options, *, queue: bool = False,
          catalog: Catalog | None = None) -> Started:
    """Record a run (planned) with every tenant's wave; `queue` hands it to the worker.
    Nothing to do is answered from one catalog query, and no run is recorded."""
    authorize(ctx, actor, Permission.MIGRATIONS_RUN, "fleet.run.create")
    catalog = catalog or Hooks().catalog
    options = _clean(options, catalog)
    if not options.tenants:
        with ctx.session_factory() as session:
            pending, below = ledger.pending_count(session, options.target)
            if pending == 0:
                message = (f"Nothing to do: every tenant is at version {options.target} or above"
                           + (f" ({below} below it are archived or being changed, and skipped)." if below else "."))
                audit.record(session, actor, "fleet.run.create", outcome="noop", target=f"v{options.target}",
                             detail={"below_not_migratable": below})
                session.commit()
                return Started(None, None, message)
    plan_ = _plan(ctx, options, catalog)
    contracts = [r for r in plan_.revisions if r["kind"] == Kind.CONTRACT.value]
    if contracts and not options.allow_contract:
        names = ", ".join(f"v{r['version']} ({r['name']})" for r in contracts)
        raise Conflict(f"Revision(s) {names} are contract revisions (drops, renames, tighter constraints): refused "
                       "without --allow-contract. Make sure no running code uses what they remove.")
    if not plan_.waves:
        return Started(None, plan_, f"Nothing to do: no tenant named can be migrated to v{options.target}.")
    waves = [options.waves[min(i, len(options.waves) - 1)] for i in range(len(plan_.waves))]
    waves[-1] = 100
    with ctx.session_factory() as session:
        active = ledger.active_run(session)
        if active is not None:
            raise Conflict(f"Migration run {active.id} is {active.status}; halt it or let it finish first "
                           f"(`tenants migrate status {active.id}`).")
        try:
            run = ledger.create_run(session, target=options.target, waves=waves, soak_seconds=options.soak_seconds,
                                    options=options.as_dict(), created_by=actor.name, queued=queue)
        except IntegrityError:
            raise Conflict("Another migration run was started at the same moment; check "
                           "`tenants migrate status`.") from None
        ledger.add_results(session, run.id, plan_.waves, plan_.skipped)
        audit.record(session, actor, "fleet.run.create", target=f"migration run {run.id}",
                     after={"status": RunStatus.PLANNED, "target_version": options.target, "waves": waves,
                            "tenants": plan_.tenants, "queued": queue}, detail=options.as_dict())
        session.commit()
        return Started(run.id, plan_, f"Run {run.id}: {plan_.tenants} tenant(s) to v{options.target} in "
                                      f"{len(plan_.waves)} wave(s).")


def drive(ctx: AppContext, actor: Actor, run_id: int, *, wait: bool = True, hooks: Hooks | None = None) -> Step:
    authorize(ctx, actor, Permission.MIGRATIONS_RUN, "fleet.run.drive", target=f"migration run {run_id}")
    return advance(ctx, actor, run_id, wait=wait, hooks=hooks)


def halt(ctx: AppContext, actor: Actor, run_id: int, reason: str | None = None) -> RunReport | None:
    authorize(ctx, actor, Permission.MIGRATIONS_RUN, "fleet.run.halt", target=f"migration run {run_id}")
    reason = clean_text(reason, "Reason", REASON_MAX) or f"halted by {actor.name}"
    with ctx.session_factory() as session:
        run = ledger.get_run(session, run_id, lock=True)
        if not RunStatus(run.status).can(RunAction.HALT):
            audit.record(session, actor, "fleet.run.halt", target=f"migration run {run_id}", outcome="noop",
                         after={"status": run.status})
            session.commit()
            return status(ctx, actor, run_id)
        before = run.status
        run.status, run.halt_reason, run.updated_at = RunStatus(before).after(RunAction.HALT), reason, utcnow()
        audit.record(session, actor, "fleet.run.halt", target=f"migration run {run_id}", reason=reason,
                     before={"status": before}, after={"status": run.status})
        session.commit()
    return status(ctx, actor, run_id)


def resume(ctx: AppContext, actor: Actor, run_id: int, *, queue: bool = False) -> RunReport | None:
    """A halted run goes on from where it stopped: its failed tenants, and the wave a breach
    reversed, are tried again (each re-reads its version, so nothing is applied twice)."""
    authorize(ctx, actor, Permission.MIGRATIONS_RUN, "fleet.run.resume", target=f"migration run {run_id}")
    with ctx.session_factory() as session:
        run = ledger.get_run(session, run_id, lock=True)
        if RunStatus(run.status).active:
            run.queued = run.queued or queue
            audit.record(session, actor, "fleet.run.resume", target=f"migration run {run_id}", outcome="noop",
                         after={"status": run.status})
            session.commit()
            return status(ctx, actor, run_id)
        if not RunStatus(run.status).can(RunAction.RESUME):
            raise Conflict(f"Migration run {run_id} is {run.status}; only a halted run can be resumed.")
        active = ledger.active_run(session)
        if active is not None:
            raise Conflict(f"Migration run {active.id} is {active.status}; only one run moves tenants at a time.")
        target = run.target_version
    # The ledger is not the only truth: tenants a killed driver migrated without recording them, and
    # remote revisions the catalog never recorded, are put right first (fleet/reconcile.py).
    with advisory_locks.driver_lock(ctx.clusters, advisory_locks.fleet_run(run_id)) as driving:
        if not driving:
            raise Conflict(f"Migration run {run_id} is still being driven by another process; wait for it to "
                           "stop (it stops within a second of a halt) and try again.")
        reconcile.reconcile(ctx, actor, run_id, target=target)
    with ctx.session_factory() as session:
        run = ledger.get_run(session, run_id, lock=True)
        if not RunStatus(run.status).can(RunAction.RESUME):
            raise Conflict(f"Migration run {run_id} is {run.status}; only a halted run can be resumed.")
        for row in ledger.results(session, run_id):
            if ResultStatus(row.status).retried_on_resume:
                row.status = ResultStatus.PENDING
        before = run.status
        run.status, run.halt_reason, run.queued, run.updated_at = (RunStatus(before).after(RunAction.RESUME), None,
                                                                    queue, utcnow())
        run.wave_started_at, run.soak_until = utcnow(), None
        audit.record(session, actor, "fleet.run.resume", target=f"migration run {run_id}",
                     before={"status": before}, after={"status": run.status, "wave": run.current_wave})
        session.commit()
    return status(ctx, actor, run_id)


def rollback(ctx: AppContext, actor: Actor, run_id: int, *, allow_data_loss: bool = False,
             hooks: Hooks | None = None) -> RunReport | None:
    """Every tenant of the run goes back to its from-version; the run must be halted or completed
    first. The ledger is not trusted alone: each tenant is read as it really is first
    (fleet/reconcile.py), so tenants a killed driver migrated without recording them go back too.
    Rows the reverse steps would drop need an admin and `allow_data_loss`, and are copied to S3
    (verified) first. The run is `rolled_back` only when every tenant is back; otherwise Conflict
    names the tenants that are not."""
    authorize(ctx, actor, Permission.MIGRATIONS_RUN, "fleet.run.rollback", target=f"migration run {run_id}")
    hooks = hooks or Hooks()
    options, target = _rollback_allowed(ctx, run_id)
    # A rollback fails fast on a held lock (and names the tenant) whatever the run was given.
    options = replace(options, lock_timeout_ms=min(options.lock_timeout_ms, ROLLBACK_LOCK_TIMEOUT_MS))
    with advisory_locks.driver_lock(ctx.clusters, advisory_locks.fleet_run(run_id)) as driving:
        if not driving:
            raise Conflict(f"Migration run {run_id} is still being driven by another process; wait for it to "
                           "stop (it stops within a second of a halt) and try again.")
        states = reconcile.reconcile(ctx, actor, run_id, target=target, catalog=hooks.catalog)
        backs, preview = _rollback_plan(ctx, states, hooks.catalog)
        if preview.rows:
            _refuse_data_loss_unless_allowed(ctx, actor, run_id, preview, allow_data_loss)
            dataloss.keep_copies(ctx, actor, run_id, preview.with_data)
        reverse_tenants(ctx, actor, run_id, backs, options=options, hooks=hooks)
        stuck = [s for s in reconcile.read(ctx, run_id) if s.wave > 0 and not _back(s)]
        with ctx.session_factory() as session:
            run = ledger.get_run(session, run_id, lock=True)
            before = run.status
            if not stuck:
                run.status, run.finished_at = RunStatus.ROLLED_BACK, utcnow()
            run.updated_at = utcnow()
            audit.record(session, actor, "fleet.run.rollback", target=f"migration run {run_id}",
                         outcome="error" if stuck else "ok", before={"status": before},
                         after={"status": run.status},
                         detail={"reversed": len(backs), "rows_dropped": preview.rows,
                                 "not_back": [s.describe() for s in stuck[:50]]})
            session.commit()
    if stuck:
        names = "; ".join(s.describe() for s in stuck[:10]) + (f"; and {len(stuck) - 10} more" if len(stuck) > 10
                                                               else "")
        raise Conflict(f"Run {run_id} is not rolled back: {len(stuck)} tenant(s) are not at their starting version "
                       f"({names}). Fix what is named and run the rollback again.")
    return status(ctx, actor, run_id)


def _rollback_allowed(ctx: AppContext, run_id: int) -> tuple[Options, int]:
    with ctx.session_factory() as session:
        run = ledger.get_run(session, run_id)
        status = RunStatus(run.status)
        if not (status.can(RunAction.ROLL_BACK) or status is RunStatus.ROLLED_BACK):  # again: re-checks only
            raise Conflict(f"Migration run {run_id} is {run.status}; halt it first "
                           f"(`tenants migrate halt {run_id}`).")
        active = ledger.active_run(session)
        if active is not None:
            raise Conflict(f"Migration run {active.id} is {active.status}; only one run moves tenants at a time.")
        return Options.from_dict(run.options), run.target_version


def _back(state: reconcile.TenantState) -> bool:
    """At its from-version; or gone from the migratable fleet (archived…) with the catalog saying so."""
    if state.busy or state.unreachable is not None:
        return False
    if state.version is not None:
        return state.version == state.from_version
    return state.tenant_status not in queries.MIGRATABLE and (state.catalog_version or 1) == state.from_version


def _rollback_plan(ctx: AppContext, states: list[reconcile.TenantState], catalog: Catalog
                   ) -> tuple[list[Back], dataloss.Preview]:
    """The tenants to put back (not at their from-version, or busy: they are then read under their
    lock) and what that drops. Tenants that cannot be put back are left to the final check, which
    names them."""
    backs: list[Back] = []
    losses: list[dataloss.Loss] = []
    for s in states:
        if s.wave == 0 or s.from_version is None or _back(s) or s.unreachable is not None:
            continue
        if s.version is None and not s.busy:
            continue  # no schema to put back: named by the final check
        current = s.version if s.version is not None else (s.ledger_to or s.from_version)
        if not catalog.reversible(current, s.from_version) or s.tenant_status not in queries.MIGRATABLE:
            continue  # a revision without reverse step, or a tenant archived since: named by the final check
        backs.append(Back(s.slug, s.cluster, s.from_version, current))
        losses.append(dataloss.Loss(s.slug, s.cluster, s.url_env, current, s.from_version))
    dataloss.measure(ctx, losses, catalog)
    return backs, dataloss.Preview(len(backs), losses)


def _refuse_data_loss_unless_allowed(ctx: AppContext, actor: Actor, run_id: int, preview: dataloss.Preview,
                                     allowed: bool) -> None:
    if actor.can(Permission.MIGRATIONS_DROP_DATA) and allowed:
        return
    with ctx.session_factory() as session:
        audit.record(session, actor, "fleet.run.rollback", target=f"migration run {run_id}", outcome="denied",
                     detail={"permission": Permission.MIGRATIONS_DROP_DATA.value, "allow_data_loss": allowed,
                             **preview.as_dict()})
        session.commit()
    if not actor.can(Permission.MIGRATIONS_DROP_DATA):
        raise Forbidden(f"Rolling back run {run_id} would drop {preview.summary()}; only an admin may, with "
                        "--allow-data-loss (a verified copy goes to S3 first). Nothing was changed.")
    raise Conflict(f"Rolling back run {run_id} would drop {preview.summary()}; confirm the loss (CLI: add "
                   "--allow-data-loss; page: tick the box that names the rows) to copy it to S3 (verified) and "
                   "then drop it. Nothing was changed.")


def rollback_preview(ctx: AppContext, actor: Actor, run_id: int, *, catalog: Catalog | None = None
                     ) -> dict[str, Any]:
    """What `rollback` would do now, changing nothing: tenants to put back, rows that would go."""
    authorize(ctx, actor, Permission.MIGRATIONS_RUN, "fleet.run.rollback_preview", target=f"migration run {run_id}")
    _, preview = _rollback_plan(ctx, reconcile.read(ctx, run_id), catalog or Hooks().catalog)
    return {**preview.as_dict(), "admin_only": bool(preview.rows),
            "may_drop": actor.can(Permission.MIGRATIONS_DROP_DATA)}


@dataclass(frozen=True)
class RunReport:
    """A run as the CLI prints it (core.records.record: times as ISO text) and the page shows it."""

    id: int
    status: str
    target_version: int
    waves: list[int]
    current_wave: int
    queued: bool
    soak_seconds: int
    soak_until: datetime | None
    halt_reason: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    options: dict[str, Any]
    decisions: list[dict[str, Any]]
    progress: dict[str, dict[str, int]]  # wave (as text) -> result status -> tenants
    results: list[dict[str, Any]] | None = None  # one row per tenant; None when not asked for


def status(ctx: AppContext, actor: Actor, run_id: int | None = None, *, with_results: bool = True
           ) -> RunReport | None:
    """The run `run_id`, or the latest; None when there is no run at all."""
    authorize(ctx, actor, Permission.MIGRATIONS_READ, "fleet.status")
    with ctx.session_factory() as session:
        run = ledger.get_run(session, run_id) if run_id is not None else ledger.latest_run(session)
        if run is None:
            return None
        counts = ledger.status_counts(session, run.id)
        results = None
        if with_results:
            results = [
                {"tenant": r.tenant_slug, "cluster": r.cluster_name, "wave": r.wave, "from": r.from_version,
                 "to": r.to_version, "status": r.status, "attempts": r.attempts, "duration_ms": r.duration_ms,
                 "error": r.error} for r in ledger.results(session, run.id)]
        return RunReport(
            id=run.id, status=run.status, target_version=run.target_version, waves=run.waves,
            current_wave=run.current_wave, queued=run.queued, soak_seconds=run.soak_seconds,
            soak_until=run.soak_until, halt_reason=run.halt_reason, created_by=run.created_by,
            created_at=run.created_at, started_at=run.started_at, finished_at=run.finished_at,
            options=run.options, decisions=run.decisions,
            progress={str(w): dict(c) for w, c in sorted(counts.items())}, results=results)


def queued(ctx: AppContext) -> list[int]:
    with ctx.session_factory() as session:
        return ledger.queued_runs(session)
