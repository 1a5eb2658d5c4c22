"""Overview: tenant counts by status for everyone, revenue only for roles that may read it,
figures linked to their pages."""

from __future__ import annotations

from decimal import Decimal

import pytest

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


@pytest.mark.parametrize(("role", "sees_revenue"), [("founder", True), ("admin", True), ("support", False),
                                                     ("oncall", False)])
def test_revenue_only_for_roles_that_may_read_it(make_app, role, sees_revenue, monkeypatch):
    from control_plane.revenue import summary

    monkeypatch.setattr(summary, "headline", lambda ctx, actor: {
        "month": "2026-10", "mrr": Decimal("12345.67"), "arr": Decimal("148148.04"), "customers": 42,
        "net_new": Decimal("-10.00")})
    at = make_app(PAGE, role=role).run()
    shown = metrics(at)
    assert ("ARR" in shown) is sees_revenue
    if sees_revenue:
        assert shown["MRR 2026-10"] == "$12,345.67" and shown["Net new MRR this month"] == "-$10.00"
    assert "Uptime, 30 days" in shown


def test_uptime_figures_come_from_the_service(make_app, monkeypatch):
    from control_plane.uptime import summary

    monkeypatch.setattr(summary, "headline", lambda ctx, actor: {
        "uptime_30d_pct": 99.9512, "open_incidents": 2, "down_now": 1})
    at = make_app(PAGE, role="oncall").run()
    shown = metrics(at)
    assert shown["Uptime, 30 days"] == "99.951 %" and shown["Open incidents"] == "2"


def test_figures_link_to_their_pages(make_app):
    at = make_app(APP, role="founder").run()  # through navigation, where page links resolve
    links = {(link.label, link.proto.page) for link in at.main.get("page_link")}  # not the sidebar menu
    assert {("Open list", "tenants"), ("MRR movements, churn and retention", "revenue"),
            ("Incidents, SLO and error budget", "uptime")} <= links


def test_support_gets_no_revenue_link(make_app):
    at = make_app(APP, role="support").run()
    assert "revenue" not in {link.proto.page for link in at.page_link}  # neither in the menu nor the figures
