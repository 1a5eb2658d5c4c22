"""Overview: tenant counts by status for everyone, revenue only for roles that may read it,
figures linked to their pages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from control_plane.revenue import ledger
from control_plane.revenue.ledger import SubscriptionState
from control_plane.services import tenants
from tests.factories import make_tenant

PAGE = "pages/overview.py"
APP = "streamlit_app.py"


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_counts_by_status(make_app, ctx, new_slug, admin):
    slugs = [new_slug("ov") for _ in range(3)]
    for slug in slugs:
        make_tenant(ctx, slug)
    tenants.suspend(ctx, admin, slugs[0], "unpaid")
    at = make_app(PAGE, role="support").run()
    assert not at.exception
    shown = metrics(at)
    assert shown["Active"] == "2" and shown["Suspended"] == "1" and shown["All tenants"] == "3"


def test_empty_catalog_has_an_empty_state(make_app):
    at = make_app(PAGE, role="founder").run()
    assert "No tenants yet" in at.info[0].value


MTD_ROWS = [  # (tenant, effective date, plan, monthly price); "today" is 2026-12-05 (app_today)
    ("acme", date(2025, 6, 1), "team", 100),
    ("bolt", date(2026, 11, 3), "starter", 50),
    ("dan", date(2026, 11, 20), "team", 20),
    ("cleo", date(2026, 12, 2), "team", 30),
]


@pytest.fixture
def mtd_ledger(ctx):
    with ctx.session_factory() as session:
        ledger.upsert_many(session, [SubscriptionState(t, d, plan, "month", Decimal(price), 1, Decimal(0), "active")
                                     for t, d, plan, price in MTD_ROWS], source="test")
        session.commit()


@pytest.mark.parametrize(("role", "sees_revenue"), [("founder", True), ("admin", True), ("support", False),
                                                     ("oncall", False)])
def test_revenue_only_for_roles_that_may_read_it(make_app, role, sees_revenue, mtd_ledger, app_today):
    at = make_app(PAGE, role=role).run()
    assert not at.exception
    shown = metrics(at)
    assert ("ARR" in shown) is sees_revenue
    assert "Uptime, 30 days" in shown


def test_running_month_is_month_to_date_beside_the_same_days_before(make_app, mtd_ledger, app_today):
    at = make_app(PAGE, role="founder").run()
    assert not at.exception
    tiles = {m.label: m for m in at.metric}
    # Dec 5: 100 + 50 + 20 + 30; Nov 5: 100 + 50; Dec 5, 2025: 100. Net new Dec 1–5: 200 − 170.
    mrr = tiles["MRR, month-to-date (Dec 1–5)"]
    assert mrr.value == "$200.00" and mrr.delta == "+$50.00 (+33.3 %) vs Nov 1–5"
    net_new = tiles["Net new MRR, month-to-date (Dec 1–5)"]
    assert net_new.value == "$30.00" and net_new.delta == "-$20.00 vs Nov 1–5"  # Nov 1–5 added 50
    assert tiles["Paying customers"].delta == "+2 vs Nov 1–5"
    assert tiles["ARPA"].value == "$50.00" and tiles["ARPA"].delta.startswith("-$25.00 (-33.3 %)")
    captions = [c.value for c in at.caption]
    assert "YoY +$100.00 (+100.0 %) vs Dec 1–5, 2025" in captions
    assert any("month-to-date" in c and "Dec 1–5 vs Nov 1–5" in c for c in captions)
    assert not any("this month" in label for label in tiles)


def test_uptime_figures_come_from_the_service(make_app, monkeypatch):
    from control_plane.uptime import summary

    monkeypatch.setattr(summary, "headline", lambda ctx, actor: {
        "uptime_30d_pct": 99.9512, "open_incidents": 2, "down_now": 1})
    at = make_app(PAGE, role="oncall").run()
    shown = metrics(at)
    assert shown["Uptime, 30 days"] == "99.951 %"
    assert "Open incidents" not in shown  # incidents are counted in the on-call inbox alone (all clear here)


def test_figures_link_to_their_pages(make_app):
    at = make_app(APP, role="founder").run()  # through navigation, where page links resolve
    links = {(link.label, link.proto.page) for link in at.main.get("page_link")}  # not the sidebar menu
    assert {("Open list", "tenants"), ("MRR movements, churn and retention", "revenue"),
            ("Incidents, SLO and error budget", "uptime")} <= links


def test_support_gets_no_revenue_link(make_app):
    at = make_app(APP, role="support").run()
    assert "revenue" not in {link.proto.page for link in at.page_link}  # neither in the menu nor the figures
