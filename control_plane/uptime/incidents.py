"""Incidents: opened and resolved from checks (live after every sweep, or recomputed after an
import), acknowledged and annotated by on-call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.alerts import NewAlert
from control_plane.core.authorization import authorize
from control_plane.db.models import Incident
from control_plane.domain.text import clean_text
from control_plane.errors import InvalidInput, NotFound
from control_plane.uptime import figures, raw
from control_plane.uptime.figures import fixed
from control_plane.uptime.raw import CheckRow
from control_plane.uptime.runs import Run, detect_runs
from control_plane.uptime.store import not_in_maintenance

NOTE_MAX = 2000


@dataclass
class Changes:
    opened: int = 0
    resolved: int = 0
    alerts: list[NewAlert] | None = None

    def __post_init__(self) -> None:
        self.alerts = self.alerts or []


def _in_maintenance(session: Session, rows: Sequence[CheckRow]) -> set[str]:
    """Targets of `rows` whose check lies in a maintenance window."""
    any_window = text("SELECT EXISTS (SELECT 1 FROM control_plane.maintenance_windows)")
    if not rows or not session.execute(any_window).scalar():
        return set()
    found = session.execute(text(f"""
        SELECT c.target FROM unnest(CAST(:targets AS text[]), CAST(:tenants AS text[]),
                                    CAST(:ats AS timestamptz[])) AS c(target, tenant_slug, checked_at)
         WHERE NOT {not_in_maintenance('c')}"""),
        {"targets": [r.target for r in rows], "tenants": [r.tenant_slug for r in rows],
         "ats": [r.checked_at for r in rows]}).scalars()
    return set(found)


def apply_checks(session: Session, rows: Sequence[CheckRow], threshold: int) -> Changes:
    """After `rows` (one check per target, already inserted) update incidents: resolve open ones
    whose target is ok again, extend the failing ones, open new ones whose run reached the threshold."""
    changes = Changes()
    paused = _in_maintenance(session, rows)
    live = [r for r in rows if r.target not in paused]
    by_target = {r.target: r for r in live}
    open_rows = session.scalars(select(Incident).where(
        Incident.resolved_at.is_(None), Incident.target.in_(list(by_target)))).all() if by_target else []
    open_by_target = {i.target: i for i in open_rows}
    for target, incident in open_by_target.items():
        check = by_target[target]
        if check.ok:
            incident.resolved_at = check.checked_at
            changes.resolved += 1
            minutes = fixed(figures.minutes(check.checked_at - incident.opened_at), 1)
            changes.alerts.append(NewAlert("incident_resolved", "info", target=target, tenant_slug=incident.tenant_slug,
                                           message=f"{target} is up again after {minutes} min "
                                                   f"({incident.failed_checks} failed checks)."))
        elif check.checked_at > incident.opened_at:
            incident.failed_checks += 1
            incident.last_error = check.error or incident.last_error
    failing = [r.target for r in live if not r.ok and r.target not in open_by_target]
    if failing:
        for target, run_start, run_length, last_error in _current_runs(session, failing):
            if run_length < threshold:
                continue
            check = by_target[target]
            session.add(Incident(target=target, tenant_slug=check.tenant_slug, opened_at=run_start,
                                 failed_checks=run_length, last_error=last_error))
            changes.opened += 1
            changes.alerts.append(NewAlert(
                "incident_opened", "critical", target=target, tenant_slug=check.tenant_slug,
                message=f"{target} is down: {run_length} consecutive failed checks since "
                        f"{run_start.isoformat(timespec='seconds')}. Last error: {last_error or 'n/a'}"))
    session.flush()
    return changes


def _current_runs(session: Session, targets: list[str]) -> list[tuple[str, datetime, int, str | None]]:
    """For each target: start, length and last error of its current run of failures (since its
    last ok check outside maintenance)."""
    last_ok = raw.nearest_ok("t.id", raw.NO_START, raw.NO_END,
                             not_in_maintenance("o", target="t.name", tenant="t.tenant_slug"), last=True)
    failures = raw.source("s.since", raw.NO_END, target="= t.id", failed_only=True, with_names=False)
    return session.execute(text(f"""
        SELECT t.name, min(c.checked_at), count(*),
               (array_agg(c.error ORDER BY c.checked_at DESC) FILTER (WHERE c.error IS NOT NULL))[1]
          FROM control_plane.check_targets t
         CROSS JOIN LATERAL (SELECT COALESCE({last_ok}, '-infinity') AS since) s
         CROSS JOIN LATERAL {failures} c
         WHERE t.name = ANY(:targets) AND c.checked_at > s.since
           AND {not_in_maintenance('c', target='t.name', tenant='t.tenant_slug')}
         GROUP BY t.name"""), {"targets": targets}).all()


def reconcile(session: Session, targets: list[str], threshold: int, since: datetime | None = None) -> Changes:
    """Recompute the incidents of `targets` from raw checks (after an import): new runs are added,
    changed ones updated; on-call's acknowledgements and notes are kept."""
    changes = Changes()
    if not targets:
        return changes
    far_past = datetime(1970, 1, 1, tzinfo=UTC)
    runs: list[Run] = detect_runs(session, since or far_past, datetime(9999, 1, 1, tzinfo=UTC), threshold,
                                  targets=targets)
    existing = {(i.target, i.opened_at): i for i in session.scalars(
        select(Incident).where(Incident.target.in_(targets)))}
    for run in runs:
        incident = existing.get((run.target, run.opened_at))
        if incident is None:
            session.add(Incident(target=run.target, tenant_slug=run.tenant_slug, opened_at=run.opened_at,
                                 resolved_at=run.resolved_at, failed_checks=run.failed_checks,
                                 last_error=run.last_error))
            changes.opened += 1
        else:
            changes.resolved += incident.resolved_at is None and run.resolved_at is not None
            incident.resolved_at, incident.failed_checks = run.resolved_at, run.failed_checks
            incident.last_error = run.last_error
    session.flush()
    return changes


def acknowledge(ctx: AppContext, actor: Actor, incident_id: int, note: str | None = None) -> Incident:
    authorize(ctx, actor, Permission.INCIDENTS_MANAGE, "incident.acknowledge", target=str(incident_id))
    note = clean_note(note)
    with ctx.session_factory() as session:
        incident = _get(session, incident_id)
        before = {"acknowledged_by": incident.acknowledged_by, "note": incident.note}
        if incident.acknowledged_at is None:
            incident.acknowledged_by, incident.acknowledged_at = actor.name, datetime.now(UTC)
        if note:
            incident.note = note
        audit.record(session, actor, "incident.acknowledge", tenant_slug=incident.tenant_slug,
                     target=incident.target, before=before,
                     after={"acknowledged_by": incident.acknowledged_by, "note": incident.note},
                     detail={"incident_id": incident_id})
        session.commit()
        return incident


def set_note(ctx: AppContext, actor: Actor, incident_id: int, note: str) -> Incident:
    authorize(ctx, actor, Permission.INCIDENTS_MANAGE, "incident.note", target=str(incident_id))
    note = clean_note(note)
    if not note:
        raise InvalidInput("Write a note first.")
    with ctx.session_factory() as session:
        incident = _get(session, incident_id)
        before = {"note": incident.note}
        incident.note = note
        audit.record(session, actor, "incident.note", tenant_slug=incident.tenant_slug, target=incident.target,
                     before=before, after={"note": note}, detail={"incident_id": incident_id})
        session.commit()
        return incident


def clean_note(note: str | None) -> str | None:
    note = clean_text(note, "Note", 100 * NOTE_MAX, multiline=True)  # NOTE_MAX is checked below
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"Notes are limited to {NOTE_MAX} characters (this one has {len(note)}).")
    return note or None


def _get(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise NotFound(f"No incident #{incident_id}; it may have been removed by an import. Refresh the page.")
    return incident
