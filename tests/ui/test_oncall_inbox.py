"""The on-call inbox at the top of Overview and Uptime, through AppTest, as each role (docs/runbook.md
"The on-call inbox"): the counts and their lists, "All clear" only when every count is zero, no
message elsewhere on the page that contradicts it, who may act, and a hostile note shown as typed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from control_plane.db.models import AuditEntry, Incident
from tests.clock import FakeClock
from tests.integration.test_oncall_inbox import NOW, fleet, healthy, load, tenants
from ui.oncall_inbox import ALL_CLEAR

PAGES = ("pages/overview.py", "pages/uptime.py")
ROLES = ("founder", "support", "oncall", "admin")
HOSTILE = "<img src=x onerror=alert(1)> **bold** [click](http://evil.example) :red[red] $x$"


@pytest.fixture
def at_now(monkeypatch):
    """The app's own context sees NOW, the instant the generated histories end at."""
    from ui.context import app_context

    monkeypatch.setattr(app_context(), "clock", FakeClock(NOW))


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def everything_said(at) -> str:
    return " ".join(str(e.value) for kind in ("success", "info", "warning", "error", "caption", "markdown")
                    for e in getattr(at, kind))


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_all_clear_for_every_role(make_app, ctx, new_slug, at_now, page, role):
    [slug] = tenants(ctx, new_slug, 1)
    load(ctx, healthy(slug))
    at = make_app(page, role=role).run()
    assert not at.exception
    assert ALL_CLEAR in [s.value for s in at.success]
    assert "Open incidents" not in metrics(at)


@pytest.mark.parametrize("page", PAGES)
def test_counts_lists_and_no_contradiction(make_app, ctx, new_slug, at_now, page):
    slugs = fleet(ctx, new_slug, 1)
    at = make_app(page, role="founder").run()
    assert not at.exception
    shown = metrics(at)
    assert {k: shown[k] for k in ("Open incidents", "Critical alerts", "Warning alerts", "Targets down",
                                  "Tenants out of budget")} == {
        "Open incidents": "1", "Critical alerts": "1", "Warning alerts": "1", "Targets down": "1",
        "Tenants out of budget": "4"}
    said = everything_said(at)
    assert ALL_CLEAR not in said and "Every target answered" not in said
    assert "8 thing(s) need attention now." in [e.value for e in at.error]
    assert list(metrics(at)).count("Open incidents") == 1  # counted once, in the inbox
    listed = at.dataframe[0].value
    assert list(listed["Kind"]) == ["Incident"] and list(listed["Tenant"]) == [slugs["down"]]
    assert listed["Runbook"][0] == "docs/runbook.md#target-down"
    key = "overview" if page.endswith("overview.py") else "uptime"
    at.button(key=f"{key}_show_Tenants out of budget").click().run()
    listed = at.dataframe[0].value
    assert list(listed["Tenant"]) == [slugs["down"], slugs["fast"], slugs["spent"], slugs["slow"]]
    assert set(listed["Severity"]) == {"warning"}
    at.button(key=f"{key}_show_Critical alerts").click().run()
    listed = at.dataframe[0].value
    assert list(listed["Tenant"]) == [slugs["fast"], slugs["slow"]]
    assert list(listed["Severity"]) == ["critical", "warning"]
    # founders read, they do not act
    assert not [b for b in at.button if b.label == "Apply"]
    assert any("On-call or an admin" in c.value for c in at.caption)


@pytest.mark.parametrize(("role", "acts"), [("founder", False), ("support", False), ("oncall", True),
                                            ("admin", True)])
def test_who_may_act(make_app, ctx, new_slug, at_now, role, acts):
    fleet(ctx, new_slug, 0)
    at = make_app("pages/uptime.py", role=role).run()
    assert not at.exception
    assert bool([b for b in at.button if b.label == "Apply"]) is acts


def test_oncall_acknowledges_with_a_hostile_note(make_app, ctx, new_slug, at_now):
    slugs = fleet(ctx, new_slug, 0)
    make_app("pages/uptime.py", role="admin", username="pager-pat")  # someone to assign to
    at = make_app("pages/overview.py", role="oncall").run()
    at.radio(key="overview_action").set_value("acknowledge")
    at.text_area(key="overview_note").input(HOSTILE)
    next(b for b in at.button if b.label == "Apply").click().run()
    assert not at.exception
    assert [s.value for s in at.success if "acknowledge done" in s.value]  # the flash after the rerun
    at.radio(key="overview_action").set_value("assign")
    at.selectbox(key="overview_assignee").select("pager-pat")
    next(b for b in at.button if b.label == "Apply").click().run()
    assert not at.exception
    with ctx.session_factory() as session:
        incident = session.scalar(select(Incident).where(Incident.tenant_slug == slugs["down"]))
        assert (incident.acknowledged_by, incident.assigned_to, incident.note) == ("oncall-user", "pager-pat",
                                                                                     HOSTILE)
        assert set(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "oncall-user"))) >= {
            "incident.acknowledge", "incident.assign"}
    listed = at.dataframe[0].value
    assert listed["Note"][0] == HOSTILE and listed["Acknowledged by"][0] == "oncall-user"  # a cell: plain text
    for element in (*at.markdown, *at.caption, *at.success):
        assert "[click](http" not in element.value and "<img" not in element.value
