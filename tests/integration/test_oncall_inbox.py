"""The on-call inbox on a real catalog with generated check histories (docs/runbook.md "The
on-call inbox"): each count, "all clear" only when every count is zero, a fixed number of
statements whatever the number of tenants, and handling (acknowledge, assign, note, resolve:
permission-checked and audited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from control_plane.auth.permissions import Actor, Role
from control_plane.core import alerts
from control_plane.db.models import AuditEntry, Incident
from control_plane.errors import Forbidden, InvalidInput
from control_plane.services import users
from control_plane.uptime import burn, handling, importer, inbox, runbook
from tests.factories import make_tenant

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
OPERATOR = Actor("seed", Role.ADMIN)


def history(target: str, *, every: timedelta, span: timedelta, failed_at: tuple[timedelta, ...] = (),
            minutes_before_now: str = "") -> list[tuple]:
    """Checks of `target` every `every` over `span` before NOW (ok but at the offsets in
    `failed_at` before NOW), then one check a minute for the last len(pattern) minutes ('.' ok,
    'x' failed), the last one a minute before NOW."""
    rows: list[tuple] = []
    recent = len(minutes_before_now)
    at = NOW - span
    while at < NOW - timedelta(minutes=recent + 1):
        rows.append((target, at, (NOW - at) not in failed_at))
        at += every
    for i, ch in enumerate(minutes_before_now):
        rows.append((target, NOW - timedelta(minutes=recent - i), ch == "."))
    return rows


def load(ctx, *histories: list[tuple]) -> None:
    rows = [(n + 2, target, at, ok, 20) for n, (target, at, ok) in enumerate(r for h in histories for r in h)]
    importer.import_rows(ctx, OPERATOR, rows, source="generated", now=NOW)


def healthy(slug: str) -> list[tuple]:
    return history(f"schema:{slug}", every=timedelta(minutes=10), span=timedelta(days=4))


def tenants(ctx, new_slug, count: int) -> list[str]:
    """Tenants in the catalog: a check belongs to a tenant the catalog knows (docs/uptime.md)."""
    slugs = [new_slug("ib") for _ in range(count)]
    for slug in slugs:
        make_tenant(ctx, slug)
    return slugs


def fleet(ctx, new_slug, extra_healthy: int) -> dict[str, str]:
    """One tenant of each kind, plus `extra_healthy` healthy ones."""
    slugs = dict(zip(("down", "fast", "slow", "spent", "fine"), tenants(ctx, new_slug, 5), strict=True))
    load(ctx,
         # last 4 checks failed: an open incident (threshold 3), a target down
         history(f"schema:{slugs['down']}", every=timedelta(minutes=10), span=timedelta(days=4),
                 minutes_before_now="." * 10 + "xxxx"),
         # two failures in the last 5 minutes, the latest check ok: a fast burn, nothing down
         history(f"schema:{slugs['fast']}", every=timedelta(minutes=10), span=timedelta(days=4),
                 minutes_before_now="." * 55 + "x.x.."),
         # one failure 3 hours ago: the 3 d/6 h pair only (a slow burn)
         history(f"schema:{slugs['slow']}", every=timedelta(minutes=10), span=timedelta(days=4),
                 failed_at=(timedelta(hours=3),)),
         # two failures 10 days ago: the 30-day budget spent, nothing firing now
         history(f"schema:{slugs['spent']}", every=timedelta(hours=1), span=timedelta(days=29),
                 failed_at=(timedelta(days=10), timedelta(days=10, hours=5))),
         healthy(slugs["fine"]),
         *(healthy(slug) for slug in tenants(ctx, new_slug, extra_healthy)))
    return slugs


def by_kind(found: inbox.Inbox) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in found.items():
        out.setdefault(item["kind"], []).append(item)
    return out


def test_each_count_from_generated_histories(ctx, founder, new_slug):
    slugs = fleet(ctx, new_slug, 2)
    found = inbox.build(ctx, founder, NOW)
    assert found.counts == {"open_incidents": 1, "alerts_critical": 1, "alerts_warning": 1, "targets_down": 1,
                            "tenants_out_of_budget": 4}
    assert not found.all_clear
    items = by_kind(found)
    [incident] = items["incident"]
    assert (incident["target"], incident["tenant"], incident["severity"]) == (
        f"schema:{slugs['down']}", slugs["down"], "critical")
    assert incident["since"] == NOW - timedelta(minutes=4)
    [down] = items["target_down"]
    assert down["target"] == incident["target"] and down["id"] == incident["id"]
    # the down target burns too, but its open incident already paged (as the sweep's evaluation)
    assert {(a["tenant"], a["severity"], a["runbook"]) for a in items["burn_rate"]} == {
        (slugs["fast"], "critical", "docs/runbook.md#fast-burn"),
        (slugs["slow"], "warning", "docs/runbook.md#slow-burn")}
    # worst budget first; the healthy ones and "fine" are within budget
    assert [i["tenant"] for i in items["out_of_budget"]] == [slugs["down"], slugs["fast"], slugs["spent"],
                                                              slugs["slow"]]
    assert all(i["detail"].startswith("budget left -") for i in items["out_of_budget"])


def test_all_clear_only_when_every_count_is_zero(ctx, oncall, new_slug):
    first, second, third = tenants(ctx, new_slug, 3)
    load(ctx, healthy(first), healthy(second))
    found = inbox.build(ctx, oncall, NOW)
    assert found.all_clear and not any(found.counts.values()) and found.items() == []
    # one failed check 3 hours ago: no incident, nothing down, yet a slow burn and a spent budget
    load(ctx, history(f"schema:{third}", every=timedelta(minutes=10), span=timedelta(days=4),
                      failed_at=(timedelta(hours=3),)))
    found = inbox.build(ctx, oncall, NOW)
    assert not found.all_clear
    assert found.counts["open_incidents"] == 0 and found.counts["targets_down"] == 0
    assert found.counts["alerts_warning"] == 1 and found.counts["tenants_out_of_budget"] == 1
    # an instant before the failure: all clear again
    assert inbox.build(ctx, oncall, NOW - timedelta(hours=4)).all_clear


def _statements(ctx, run) -> int:
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(ctx.engine, "before_cursor_execute", count)
    return len(seen)


def test_statement_count_does_not_grow_with_tenants(ctx, oncall, new_slug):
    fleet(ctx, new_slug, 2)
    few = _statements(ctx, lambda: inbox.build(ctx, oncall, NOW))
    fleet(ctx, new_slug, 40)
    many_found = []
    many = _statements(ctx, lambda: many_found.append(inbox.build(ctx, oncall, NOW)))
    assert many_found[0].counts["alerts_critical"] == 2  # both fleets' fast burns: the same lists, longer
    assert few == many <= 15


def _store_burn_alerts(ctx, at: datetime) -> None:
    """What the health sweep does after a pass: evaluate and store the new burn-rate alerts."""
    with ctx.session_factory() as session:
        for row in alerts.add(session, burn.evaluate(session, at, ctx.settings.slo_target)):
            row.at = at  # stored at the sweep's instant (the table's default is the wall clock)
        session.commit()


def test_handling_alerts_and_incidents(ctx, oncall, founder, support, new_slug):
    slugs = fleet(ctx, new_slug, 0)
    before = inbox.build(ctx, oncall, NOW)
    assert all(a["id"] is None for a in before.alerts)  # firing, not stored yet: nothing to handle
    _store_burn_alerts(ctx, NOW - timedelta(seconds=30))
    found = inbox.build(ctx, oncall, NOW)
    fast = next(a for a in found.alerts if a["tenant"] == slugs["fast"])
    assert fast["id"] is not None
    users.add_user(ctx, OPERATOR, "pager-pat", "oncall", "pw-long-enough-1234")
    users.add_user(ctx, OPERATOR, "fran-founder", "founder", "pw-long-enough-1234")

    with pytest.raises(Forbidden):
        handling.handle(ctx, founder, "alert", fast["id"], "acknowledge")
    with pytest.raises(Forbidden):
        handling.handle(ctx, support, "incident", found.incidents[0]["id"], "resolve")
    with pytest.raises(InvalidInput, match="may not handle"):
        handling.handle(ctx, oncall, "alert", fast["id"], "assign", assignee="fran-founder")
    with pytest.raises(InvalidInput, match="No enabled user"):
        handling.handle(ctx, oncall, "alert", fast["id"], "assign", assignee="nobody")
    with pytest.raises(InvalidInput, match="note"):
        handling.handle(ctx, oncall, "alert", fast["id"], "note", note="   ")
    assert handling.assignable(ctx, oncall, "alert") == ["pager-pat"]

    handling.handle(ctx, oncall, "alert", fast["id"], "acknowledge", now=NOW)
    handling.handle(ctx, oncall, "alert", fast["id"], "assign", assignee="pager-pat", now=NOW)
    state = handling.handle(ctx, oncall, "alert", fast["id"], "note", note="bad deploy, rolling back", now=NOW)
    assert (state["acknowledged_by"], state["assigned_to"], state["note"]) == (
        "test-oncall", "pager-pat", "bad deploy, rolling back")
    shown = next(a for a in inbox.build(ctx, oncall, NOW).alerts if a["id"] == fast["id"])
    assert (shown["acknowledged_by"], shown["assigned_to"]) == ("test-oncall", "pager-pat")

    handling.handle(ctx, oncall, "alert", fast["id"], "resolve", now=NOW)
    with pytest.raises(InvalidInput, match="already resolved"):
        handling.handle(ctx, oncall, "alert", fast["id"], "resolve", now=NOW)
    after = inbox.build(ctx, oncall, NOW)
    assert after.counts["alerts_critical"] == 0 and after.counts["alerts_warning"] == 1
    incident_id = found.incidents[0]["id"]
    handling.handle(ctx, oncall, "incident", incident_id, "resolve", note="failed over", now=NOW)
    closed = inbox.build(ctx, oncall, NOW)
    assert closed.counts["open_incidents"] == 0
    assert closed.counts["targets_down"] == 1  # still failing its checks: still down
    with ctx.session_factory() as session:
        incident = session.get(Incident, incident_id)
        assert incident.resolved_at is None and incident.closed_by == "test-oncall"  # the checks own resolved_at
        actions = session.scalars(select(AuditEntry.action + ":" + AuditEntry.outcome)
                                  .order_by(AuditEntry.id)).all()
    assert {"alert.acknowledge:denied", "incident.resolve:denied", "alert.acknowledge:ok", "alert.assign:ok",
            "alert.note:ok", "alert.resolve:ok", "incident.resolve:ok"} <= set(actions)


def test_a_resolved_alert_comes_back_when_the_sweep_raises_it_again(ctx, oncall, new_slug):
    slugs = fleet(ctx, new_slug, 0)
    _store_burn_alerts(ctx, NOW - timedelta(minutes=2))
    fast = next(a for a in inbox.build(ctx, oncall, NOW).alerts if a["tenant"] == slugs["fast"])
    handling.handle(ctx, oncall, "alert", fast["id"], "acknowledge", now=NOW - timedelta(minutes=1))
    handling.handle(ctx, oncall, "alert", fast["id"], "resolve", now=NOW - timedelta(minutes=1))
    assert slugs["fast"] not in {a["tenant"] for a in inbox.build(ctx, oncall, NOW).alerts}
    with ctx.session_factory() as session:
        [raised] = alerts.add(session, [alerts.NewAlert("burn_rate", "critical", "[1h/5m ≥ 14.4×] again",
                                                        target=fast["target"], tenant_slug=slugs["fast"])])
        raised.at = NOW  # raised after the resolve
        session.commit()
    back = next(a for a in inbox.build(ctx, oncall, NOW).alerts if a["tenant"] == slugs["fast"])
    assert back["id"] == raised.id and back["acknowledged_by"] == "test-oncall"


def test_every_runbook_link_has_its_section():
    sections = runbook.sections()
    assert set(runbook.ANCHORS.values()) | {runbook.HANDLING} <= set(sections)
    assert all(sections[a] for a in runbook.ANCHORS.values())
    assert runbook.ref("burn_rate", "[3d/6h ≥ 1×] x") == "docs/runbook.md#slow-burn"
    assert runbook.ref("burn_rate", "[1h/5m ≥ 14.4×] x") == "docs/runbook.md#fast-burn"
    assert "](" in sections["target-down"] and "](" not in runbook.for_screen("target-down")  # no dead links
