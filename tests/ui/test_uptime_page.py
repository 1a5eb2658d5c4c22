"""The Uptime page through AppTest: down now, SLO table, incidents with acknowledge, SLA report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from control_plane.auth.permissions import Actor, Role
from control_plane.db.models import AuditEntry, Incident
from control_plane.uptime import importer
from tests.factories import make_tenant
from tests.ui.readable import assert_readable
from ui.oncall_inbox import ALL_CLEAR

OPERATOR = Actor("seed", Role.ADMIN)


def seed_checks(ctx, target: str, pattern: str, end: datetime | None = None) -> None:
    """'.' ok, 'x' failed, one check a minute ending a minute before `end` (default now)."""
    end = end or datetime.now(UTC)
    start = end - timedelta(minutes=len(pattern))
    rows = [(i + 2, target, start + i * timedelta(minutes=1), ch == ".", 50 + i) for i, ch in enumerate(pattern)]
    importer.import_rows(ctx, OPERATOR, rows, source="test")


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def test_empty_state(make_app):
    at = make_app("pages/uptime.py", role="oncall").run()
    assert not at.exception
    assert ALL_CLEAR in texts(at.success)  # the inbox; the Down now section only says what it knows
    assert "No target is failing its latest check." in texts(at.caption)
    assert "No checks yet" in texts(at.info)


def test_down_now_slo_table_and_acknowledge(make_app, ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    seed_checks(ctx, f"schema:{slug}", "." * 30 + "xxxx")
    seed_checks(ctx, "db:default", "." * 34)
    at = make_app("pages/uptime.py", role="oncall").run()
    assert not at.exception
    assert "1 target(s) failing" in texts(at.error)
    assert_readable(at)
    down = at.dataframe[1].value  # after the inbox's list
    name = f"{slug.title()} Ltd"
    assert list(down["Target"]) == [f"{name} · database"] and down["Incident"].notna().all()
    table = at.dataframe[2].value
    row = table.set_index("Target").loc[name]  # the tenant's name, not its slug or target id
    assert row["Scope"] == "tenant" and round(row["Uptime (24 h)"], 3) == round(100 * 30 / 34, 3)
    assert row["SLO"] == "missed"
    assert table.set_index("Target").loc["default · cluster database", "Uptime (30 d)"] == 100.0

    at.text_area(key="ack_note").input("failover in progress")
    ack = next(b for b in at.button if b.label == "Acknowledge")
    ack.click().run()
    assert not at.exception
    assert "acknowledged" in texts(at.success)
    with ctx.session_factory() as s:
        incident = s.scalar(select(Incident))
        assert (incident.acknowledged_by, incident.note) == ("oncall-user", "failover in progress")
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.action == "incident.acknowledge"))


def test_founder_reads_but_cannot_acknowledge(make_app, ctx):
    seed_checks(ctx, "api", "xxx.")
    at = make_app("pages/uptime.py", role="founder").run()
    assert not at.exception
    assert "Acknowledge" not in [b.label for b in at.button]
    assert not any(e.key == "ack_note" for e in at.text_area)


def test_sla_report_per_month_as_csv(make_app, ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    seed_checks(ctx, f"http:{slug}", "." * 9 + "x")
    at = make_app("pages/uptime.py", role="oncall").run()
    at.text_input(key="sla_slug").input(slug)
    at.number_input(key="sla_months").set_value(3).run()
    assert not at.exception
    assert_readable(at)
    report = at.dataframe[-1].value
    assert list(report.columns) == ["Tenant", "Month", "Checks", "Uptime", "SLO", "Incidents", "Downtime", "MTTR"]
    # The ten checks end now, so at a month's first minutes they straddle two months: count them all.
    assert len(report) == 3 and report["Checks"].sum() == 10 and set(report["Tenant"]) == {f"{slug.title()} Ltd"}
    assert all(u == "—" or u.endswith(" %") for u in report["Uptime"])
    assert any(b.label == "Download SLA report (CSV)" for b in at.get("download_button"))


def test_bad_sla_slug_is_an_error_not_a_traceback(make_app):
    at = make_app("pages/uptime.py", role="admin").run()
    at.text_input(key="sla_slug").input("Not A Slug").run()
    assert not at.exception
    assert "Invalid slug" in texts(at.error)


def test_check_history_shows_uptime_in_span_and_a_chart(make_app, ctx):
    seed_checks(ctx, "db:default", "." * 9 + "x")
    at = make_app("pages/uptime.py", role="oncall").run()
    at.selectbox(key="history_target").select("db:default").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Uptime in span"] == "90.000 %"
    assert any("latency, failures in red" in c.proto.spec for c in at.get("plotly_chart"))


def slo_table(at):
    return next(d.value for d in at.dataframe if "Error budget left" in d.value.columns).set_index("Target")


def test_declaring_maintenance_drops_the_cached_uptime_at_once(make_app, ctx):
    """The SLO table is cached for 30 s; a window declared on the page shows in it at the next run."""
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    seed_checks(ctx, "api", "." * 5 + "xxxxx", end=end)
    at = make_app("pages/uptime.py", role="oncall").run()
    assert slo_table(at).loc["api", "Uptime (24 h)"] == 50.0
    start = end - timedelta(minutes=6)
    at.radio(key="mw_kind").set_value("target")
    at.text_input(key="mw_scope").input("api")
    at.date_input(key="mw_day").set_value(start.date())
    at.time_input(key="mw_time").set_value(start.time())
    at.text_input(key="mw_reason").input("planned failover")
    next(b for b in at.button if b.label == "Declare maintenance window").click().run()
    assert not at.exception
    assert any("declared" in s.value for s in at.success)
    at.run()  # the SLO tab was drawn before the form ran; the next run (well within the TTL) reads afresh
    assert slo_table(at).loc["api", "Uptime (24 h)"] == 100.0
