"""The catalog's record of runs and per-tenant results (docs/migrations.md "Ledger"). Callers
own the transaction; every function here takes the session it works in."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from control_plane.db.models import MigrationResult, MigrationRun
from control_plane.errors import NotFound
from control_plane.fleet import queries
from control_plane.fleet.apply import Outcome
from control_plane.fleet.planner import Candidate
from control_plane.fleet.states import ACTIVE, ResultStatus, RunStatus


def below_target(session: Session, target: int, slugs: list[str] | None) -> list[Candidate]:
    rows = session.execute(text(queries.BELOW_TARGET), {"target": target, "slugs": slugs}).all()
    return [Candidate(r.slug, r.status, r.version, r.plan_code, r.cluster_name, r.is_demo) for r in rows]


def pending_count(session: Session, target: int) -> tuple[int, int]:
    """(tenants that a run would migrate, tenants below target in any status): one query."""
    row = session.execute(text(queries.ANY_BELOW), {"target": target}).one()
    return int(row.pending), int(row.below)


def version_counts(session: Session) -> list[tuple[int, str, int]]:
    return [(int(v), s, int(n)) for v, s, n in session.execute(text(queries.VERSION_COUNTS))]


def create_run(session: Session, *, target: int, waves: list[int], soak_seconds: int, options: dict[str, Any],
               created_by: str, queued: bool) -> MigrationRun:
    run = MigrationRun(target_version=target, waves=waves, soak_seconds=soak_seconds, options=options,
                       created_by=created_by, queued=queued, status=RunStatus.PLANNED, decisions=[])
    session.add(run)
    session.flush()
    return run


def add_results(session: Session, run_id: int, waves: list[list[Candidate]], skipped: list[Candidate]) -> None:
    rows = [{"run_id": run_id, "tenant_slug": c.slug, "cluster_name": c.cluster, "wave": i, "from_version": c.version,
             "status": ResultStatus.PENDING} for i, wave in enumerate(waves, start=1) for c in wave]
    rows += [{"run_id": run_id, "tenant_slug": c.slug, "cluster_name": c.cluster, "wave": 0, "from_version": c.version,
              "status": ResultStatus.SKIPPED, "error": f"tenant is {c.status}: not migrated"} for c in skipped]
    for start in range(0, len(rows), 5000):
        session.execute(pg_insert(MigrationResult), rows[start:start + 5000])


def get_run(session: Session, run_id: int, *, lock: bool = False) -> MigrationRun:
    query = select(MigrationRun).where(MigrationRun.id == run_id)
    run = session.scalar(query.with_for_update() if lock else query)
    if run is None:
        raise NotFound(f"No migration run {run_id}; `tenants migrate status` lists the runs.")
    return run


def latest_run(session: Session) -> MigrationRun | None:
    return session.scalar(select(MigrationRun).order_by(MigrationRun.id.desc()).limit(1))


def active_run(session: Session) -> MigrationRun | None:
    return session.scalar(select(MigrationRun).where(MigrationRun.status.in_(ACTIVE)))


def queued_runs(session: Session) -> list[int]:
    return list(session.scalars(select(MigrationRun.id).where(MigrationRun.queued, MigrationRun.status.in_(ACTIVE))
                                .order_by(MigrationRun.id)))


def results(session: Session, run_id: int, *, wave: int | None = None, status: str | None = None
            ) -> list[MigrationResult]:
    query = select(MigrationResult).where(MigrationResult.run_id == run_id)
    if wave is not None:
        query = query.where(MigrationResult.wave == wave)
    if status is not None:
        query = query.where(MigrationResult.status == status)
    return list(session.scalars(query.order_by(MigrationResult.wave, MigrationResult.tenant_slug)))


def slugs(session: Session, run_id: int, *, status: str, waves: tuple[int, int] | None = None) -> list[str]:
    query = select(MigrationResult.tenant_slug).where(MigrationResult.run_id == run_id,
                                                      MigrationResult.status == status)
    if waves is not None:
        query = query.where(MigrationResult.wave.between(*waves))
    return list(session.scalars(query.order_by(MigrationResult.tenant_slug)))


def status_counts(session: Session, run_id: int) -> dict[int, Counter[str]]:
    counts: dict[int, Counter[str]] = {}
    for wave, status, n in session.execute(
            select(MigrationResult.wave, MigrationResult.status, func.count())
            .where(MigrationResult.run_id == run_id).group_by(MigrationResult.wave, MigrationResult.status)):
        counts.setdefault(int(wave), Counter())[status] = int(n)
    return counts


def failures(session: Session, run_id: int) -> int:
    return int(session.scalar(select(func.count()).where(MigrationResult.run_id == run_id,
                                                         MigrationResult.status == ResultStatus.FAILED)) or 0)


def record(session: Session, run_id: int, outcomes: list[Outcome], *, reverse: bool = False) -> None:
    """Results of several tenants in one statement. from_version stays what planning read (a
    resumed tenant that was already migrated reads its new version); to_version is where the
    tenant really is afterwards (a failed reverse keeps the version it stayed at)."""
    if not outcomes:
        return
    rows = []
    for o in outcomes:
        status = ResultStatus(o.status).reversed() if reverse else o.status
        rows.append({"slug": o.slug, "status": status, "attempts": o.attempts, "duration_ms": o.duration_ms,
                     "error": o.error, "to_version": o.to_version})
    session.execute(text(queries.RECORD_RESULTS), {"rows": json.dumps(rows), "run": run_id})
