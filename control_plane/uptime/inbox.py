"""The on-call inbox: what is wrong at an instant (docs/runbook.md "The on-call inbox").

Four lists, each a count on the screens: open incidents, firing burn-rate alerts (by severity),
targets whose latest check failed, tenants out of their 30-day error budget. "All clear" is the
case where all four are empty, and nothing else. A fixed number of statements whatever the number
of tenants (inbox_queries.py, burn.burning, counts.scope_counts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.uptime import burn, inbox_queries, runbook, slo
from control_plane.uptime.counts import scope_counts
from control_plane.uptime.figures import fixed
from control_plane.uptime.store import read_marks

LISTS = ("incidents", "alerts", "down", "out_of_budget")
ITEM_FIELDS = ["kind", "severity", "id", "target", "tenant", "since", "detail", "acknowledged_by", "assigned_to",
               "note", "runbook"]
COUNT_FIELDS = ["open_incidents", "alerts_critical", "alerts_warning", "targets_down", "tenants_out_of_budget"]


@dataclass(frozen=True)
class Inbox:
    at: datetime
    incidents: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    down: list[dict[str, Any]] = field(default_factory=list)
    out_of_budget: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        severities = [a["severity"] for a in self.alerts]
        return {"open_incidents": len(self.incidents), "alerts_critical": severities.count("critical"),
                "alerts_warning": severities.count("warning"), "targets_down": len(self.down),
                "tenants_out_of_budget": len(self.out_of_budget)}

    @property
    def all_clear(self) -> bool:
        return not any(self.counts.values())

    def items(self) -> list[dict[str, Any]]:
        """Every list's items in one shape (ITEM_FIELDS), most urgent lists first."""
        return [*self.incidents, *self.alerts, *self.down, *self.out_of_budget]


def build(ctx: AppContext, actor: Actor, now: datetime) -> Inbox:
    """The inbox at `now`; handling (acknowledged, assigned, notes, closed) as it stands."""
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.inbox")
    target_slo = ctx.settings.slo_target
    with ctx.session_factory() as session:
        open_rows = inbox_queries.open_incidents(session, now)
        down_rows = inbox_queries.down_targets(session, now)
        first: dict[str, burn.Burn] = {}
        for found in burn.burning(session, now, target_slo):
            first.setdefault(found.target, found)
        # as burn.evaluate: a target whose incident is open raises no burn-rate alert (its opening paged)
        with_incident = {r.target for r in open_rows}
        firing = {t: b for t, b in first.items() if t not in with_incident}
        episodes = {r.target: r for r in inbox_queries.burn_alert_episodes(
            session, now, {t: now - b.window.long for t, b in firing.items()})}
        month = scope_counts(session, now - slo.SLO_PERIOD, now, marks=read_marks(session), with_p95=False)
    return Inbox(
        at=now,
        incidents=[_incident(r) for r in open_rows if r.closed_at is None],
        alerts=[a for t in sorted(firing) if (a := _alert(firing[t], episodes.get(t))) is not None],
        down=[_down(r) for r in down_rows],
        out_of_budget=_out_of_budget(month, target_slo),
    )


def _item(kind: str, severity: str, **values: Any) -> dict[str, Any]:
    item = dict.fromkeys(ITEM_FIELDS)
    item.update(kind=kind, severity=severity, runbook=runbook.ref(kind), **values)
    return item


def _incident(row: Any) -> dict[str, Any]:
    error = f"; last error: {row.last_error}" if row.last_error else ""
    return _item("incident", "critical", id=row.id, target=row.target, tenant=row.tenant_slug, since=row.opened_at,
                 detail=f"{row.failed_checks} failed checks in a row{error}", acknowledged_by=row.acknowledged_by,
                 assigned_to=row.assigned_to, note=row.note)


def _alert(found: burn.Burn, episode: Any) -> dict[str, Any] | None:
    """A firing target's alert; None when on-call closed it after its latest raise (a later raise
    by the sweep brings it back)."""
    if episode is not None and episode.closed_at is not None and episode.closed_at >= episode.raised_at:
        return None
    window = found.window
    detail = (f"{slo.fmt_duration(window.long)}/{slo.fmt_duration(window.short)} ≥ {window.factor:g}×: "
              f"{fixed(found.long_rate, 1)}× over {slo.fmt_duration(window.long)}, "
              f"{fixed(found.short_rate, 1)}× over {slo.fmt_duration(window.short)}")
    kind = runbook.burn_kind(window)
    item = _item("burn_rate", "critical" if window.severity == "page" else "warning", target=found.target,
                 tenant=found.tenant_slug, detail=detail)
    item["runbook"] = runbook.ref(kind)
    if episode is not None:
        item.update(id=episode.alert_id, since=episode.raised_at, acknowledged_by=episode.acknowledged_by,
                    assigned_to=episode.assigned_to, note=episode.note)
    return item


def _down(row: Any) -> dict[str, Any]:
    return _item("target_down", "critical", id=row.incident_id, target=row.target, tenant=row.tenant_slug,
                 since=row.down_since, detail=row.error or "failed its latest check")


def _out_of_budget(month: Any, target_slo: float) -> list[dict[str, Any]]:
    """Tenants (all their targets together) whose 30-day budget is spent past zero, i.e. whose
    exact 30-day uptime misses the SLO (docs/uptime.md "SLO and error budget"); worst first."""
    out = []
    for row in month.itertuples():
        checks, ok = int(row.checks), int(row.ok)
        if row.scope != "tenant" or slo.slo_met(checks, ok, target_slo) is not False:
            continue
        left = slo.budget_left_exact(checks, ok, target_slo)
        out.append((left, row.name, _item(
            "out_of_budget", "warning", tenant=row.name,
            detail=f"budget left {fixed(left, 1)} %, uptime {fixed(slo.uptime_exact(checks, ok), 3)} % "
                   f"over 30 days ({checks - ok} of {checks} checks failed)")))
    out.sort(key=lambda t: (t[0], t[1]))
    return [item for _, _, item in out]
