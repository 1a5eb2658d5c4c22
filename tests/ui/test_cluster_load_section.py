"""Tenants and load per cluster on the Usage and Scaling screens (ui/cluster_load.py): a table and
a chart per cluster for the roles that open those screens, with the real read model behind them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from control_plane.db.models import UsageDaily
from control_plane.services import tenants
from tests.factories import OPERATOR, make_tenant


def _load_table(at):
    [frame] = [d.value for d in at.dataframe if "ACU floor–ceiling" in d.value.columns]
    return frame.set_index("cluster")


@pytest.mark.parametrize(("page", "role"), [("pages/usage.py", "founder"), ("pages/usage.py", "support"),
                                            ("pages/scaling.py", "oncall")])
def test_each_cluster_with_its_tenants_storage_and_capacity(make_app, ctx, cluster_b, new_slug, page, role):
    here, there = new_slug("cl"), new_slug("cl")
    make_tenant(ctx, here)
    tenants.provision(ctx, OPERATOR, there, "There Ltd", "team", cluster="b")
    with ctx.session_factory() as s:  # yesterday, so the 7-day window holds it whatever the hour
        s.add(UsageDaily(tenant_slug=there, day=datetime.now(UTC).date() - timedelta(days=1),
                         storage_bytes=3 * 2**20, row_estimate=1_234, requests=500))
        s.commit()
    at = make_app(page, role=role).run()
    assert not at.exception, at.exception
    assert "Tenants and load per cluster" in [h.value for h in at.subheader]
    table = _load_table(at)
    assert list(table.index) == ["default", "b"]
    assert table.loc["b", "tenants"] == 1 and table.loc["b", "storage"] == "3.0 MiB"
    assert table.loc["b", "rows"] == 1_234 and table.loc["b", "requests 7 d"] == 500
    assert table.loc["b", "new tenants"] == "only when named" and table.loc["default", "new tenants"] == "accepted"
    assert table.loc["default", "ACU floor–ceiling"] == "0.5–64"
    [chart] = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if "Live tenants" in c.proto.spec]
    tenants_bar = chart["data"][0]
    assert (tenants_bar["x"], tenants_bar["y"]) == (["default", "b"], [1, 1])
