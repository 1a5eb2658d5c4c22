"""Usage screen (AppTest, real catalog): noisy-neighbour flags with the recommendation, top
consumers, a tenant's trend, CSV export and the empty state; open to every role."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import streamlit as st

from control_plane.db.models import NoisyNeighbourFlag, UsageDaily
from tests.factories import make_tenant
from tests.ui.readable import assert_readable
from ui.text import plain


@pytest.fixture(autouse=True)
def _fresh_cache():
    st.cache_data.clear()


def add_days(session, slug: str, today: date, days: int, requests: int, **values) -> None:
    """`days` daily rows of `slug` ending on `today` (the app's pinned day)."""
    for back in range(days):
        session.add(UsageDaily(tenant_slug=slug, day=today - timedelta(days=back), requests=requests,
                               **{"errors": 0, "storage_bytes": 2**20, **values}))


def test_flags_top_consumers_and_trend(make_app, ctx, new_slug, app_today):
    big, small = new_slug("big"), new_slug("small")
    make_tenant(ctx, big)
    make_tenant(ctx, small)
    with ctx.session_factory() as session:
        add_days(session, big, app_today, 10, 50_000, errors=50, storage_bytes=2**30)
        add_days(session, small, app_today, 10, 100)
        session.add(NoisyNeighbourFlag(tenant_slug=big, metric="requests", value=500_000, baseline=50_000,
                                       factor=10, recommendation=f"Move {big} to its own cluster: requests at 10x"))
        session.commit()

    at = make_app("pages/usage.py", role="founder").run()

    assert not at.exception
    assert "1 noisy-neighbour flag(s) open" in at.warning[0].value
    assert any(plain(f"Move {big} to its own cluster") in c.value for c in at.caption)
    top = at.dataframe[0].value
    assert list(top["Slug"]) == [big, small]
    assert top.iloc[0]["Requests (window)"] == 500_000 and top.iloc[0]["Storage"] == "1.0 GiB"
    assert top.iloc[0]["Requests / day"] == 50_000
    assert_readable(at)
    assert at.selectbox(key="usage_tenant").value == big
    assert at.get("plotly_chart")
    assert len(at.get("download_button")) == 3  # top consumers, daily usage, load per cluster


def test_empty_state(make_app):
    at = make_app("pages/usage.py", role="support").run()
    assert not at.exception
    assert "No tenant is using 10×" in at.success[0].value
    assert "No usage recorded yet" in at.info[0].value


def test_rank_by_requests_per_day_ranks_the_daily_figure(make_app, ctx, new_slug, app_today):
    """A tenant three days old at 20,000 requests a day outranks one with ten days of 10,000 a day
    (more requests in the window, fewer a day): the option says per day and ranks per day."""
    young, old = new_slug("young"), new_slug("old")
    make_tenant(ctx, young)
    make_tenant(ctx, old)
    with ctx.session_factory() as session:
        add_days(session, old, app_today, 10, 10_000)
        add_days(session, young, app_today, 3, 20_000)
        session.commit()
    at = make_app("pages/usage.py", role="founder").run()
    assert at.selectbox(key="usage_rank").value == "requests_per_day"
    top = at.dataframe[0].value
    assert list(top["Slug"])[:2] == [young, old] and list(top["Requests / day"])[:2] == [20_000, 10_000]
    at.selectbox(key="usage_rank").set_value("requests").run()
    assert list(at.dataframe[0].value["Slug"])[:2] == [old, young]


def test_advice_shows_commands_as_code_not_backticks(make_app, ctx, new_slug):
    slug = new_slug("noisy")
    make_tenant(ctx, slug)
    with ctx.session_factory() as session:
        session.add(NoisyNeighbourFlag(tenant_slug=slug, metric="requests", value=500_000, baseline=50_000,
                                       factor=10, recommendation=f"Move it: `tenants move {slug} --to CLUSTER`, "
                                                                 "or ask an admin."))
        session.commit()
    at = make_app("pages/usage.py", role="admin").run()
    caption = next(c.value for c in at.caption if "Move it" in c.value)
    assert f"`tenants move {slug} --to CLUSTER`" in caption and "\\`" not in caption
