"""Read models behind the on-call screens, the Overview headline, and the demo seeder."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from control_plane.auth.permissions import Actor, Role
from control_plane.db.models import CheckRollup, Incident
from control_plane.demo import uptime as demo_uptime
from control_plane.errors import Forbidden
from control_plane.uptime import importer, incidents, summary, views
from tests.factories import make_tenant

OPERATOR = Actor("seed", Role.ADMIN)


def seed_checks(ctx, target: str, pattern: str, end: datetime) -> None:
    start = end - timedelta(minutes=len(pattern))
    rows = [(i + 2, target, start + i * timedelta(minutes=1), ch == ".", 10 + i) for i, ch in enumerate(pattern)]
    importer.import_rows(ctx, OPERATOR, rows, source="test")


def test_headline_down_now_and_recent_checks(ctx, oncall, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    now = datetime.now(UTC)
    seed_checks(ctx, f"schema:{slug}", "......xxx", now)
    seed_checks(ctx, f"http:{slug}", ".........", now)
    seed_checks(ctx, "db:default", ".........", now)
    head = summary.headline(ctx, oncall)
    assert head["down_now"] == 1 and head["open_incidents"] == 1
    assert head["uptime_30d_pct"] == pytest.approx(100 * 24 / 27, abs=1e-3)
    down = views.down_now(ctx, oncall)
    assert list(down["target"]) == [f"schema:{slug}"] and int(down["failed_checks"][0]) == 3
    recent = summary.tenant_recent_checks(ctx, oncall, slug, limit=5)
    assert list(recent.columns) == ["target", "checked_at", "ok", "latency_ms", "error"]
    assert len(recent) == 5 and recent["checked_at"].is_monotonic_decreasing

    table = views.uptime_table(ctx, oncall).set_index("name")
    assert table.loc[slug, "uptime_24h"] == pytest.approx(100 * 15 / 18, abs=1e-3)
    assert table.loc[slug, "scope"] == "tenant" and table.loc["db:default", "scope"] == "platform"
    assert table.loc["db:default", "budget_left_pct"] == 100.0


def test_acknowledge_and_note_need_incident_rights(ctx, oncall, founder):
    seed_checks(ctx, "api", "xxxx", datetime.now(UTC))
    with ctx.session_factory() as s:
        incident_id = s.scalar(select(Incident.id))
    with pytest.raises(Forbidden):
        incidents.acknowledge(ctx, founder, incident_id)
    incidents.acknowledge(ctx, oncall, incident_id, "looking")
    incidents.set_note(ctx, oncall, incident_id, "root cause: DNS")
    frame = views.incidents_frame(ctx, oncall, open_only=True)
    assert frame.loc[0, "acknowledged_by"] == "test-oncall" and frame.loc[0, "note"] == "root cause: DNS"
    assert frame.loc[0, "status"] == "open"


def test_demo_seed_fills_every_screen(ctx, oncall, new_slug):
    tenants = [make_tenant(ctx, new_slug("demo")) for _ in range(4)]
    demo_uptime.seed(ctx, tenants, 2, random.Random(3))
    with ctx.session_factory() as s:
        days = s.scalar(select(func.count()).select_from(CheckRollup).where(CheckRollup.granularity == "day"))
        assert days >= 5 * 50
        assert s.scalar(select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None))) == 1
    head = summary.headline(ctx, oncall)
    assert head["down_now"] == 1 and 99 < head["uptime_30d_pct"] < 100
    table = views.uptime_table(ctx, oncall)
    assert len(table) == 5 and table["uptime_30d"].notna().all()
    sla = views.sla_report(ctx, oncall, tenants[0].slug, months=2)
    assert len(sla) == 2 and (sla["checks"] > 0).all()


def test_sla_report_and_screen_mttr_count_an_incident_across_the_month_end_whole(ctx, oncall, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    now = datetime(2026, 2, 1, 0, 5, tzinfo=UTC)
    # 23:53 ok, 23:54 ok, failures 23:55 .. 00:01, ok from 00:02: seven minutes down, five in January.
    seed_checks(ctx, f"schema:{slug}", "..xxxxxxx...", now)
    sla = views.sla_report(ctx, oncall, slug, months=2, now=now).set_index("month")
    assert sla.loc["2026-01", "incidents"] == 1 and sla.loc["2026-01", "mttr_minutes"] == 7.0
    assert sla.loc["2026-01", "downtime_minutes"] == 5.0
    assert sla.loc["2026-02", "incidents"] == 0 and pd.isna(sla.loc["2026-02", "mttr_minutes"])

    frame = views.incidents_frame(ctx, oncall, days=30, now=now)
    assert views.incidents_mttr_minutes(frame) == 7.0
    assert views.incidents_mttr_minutes(frame.iloc[0:0]) is None
