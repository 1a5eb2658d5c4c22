"""Scaling screen (AppTest): capacity chart with decisions, decision log, empty and error states,
and who may open it. AWS reads are patched; decisions come from the real catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import streamlit as st

from control_plane.db.models import ScalingDecision
from control_plane.errors import ExternalServiceError
from control_plane.scaling import queries
from tests.ui.readable import assert_readable
from ui.text import plain

CLUSTER = {"cluster": "default", "aurora_cluster_id": "prod-aurora", "acu_floor": 0.5, "acu_ceiling": 64.0,
           "min_acu": 0.5, "max_acu": 16.0, "status": "available", "problem": None}


@pytest.fixture(autouse=True)
def _fresh_cache():
    st.cache_data.clear()


def history(now: datetime) -> pd.DataFrame:
    stamps = [now - timedelta(minutes=5 * i) for i in range(24, 0, -1)]
    return pd.DataFrame({"at": stamps, "capacity_acu": [4.0] * 24, "utilisation_pct": [50.0] * 24})


def add_decision(ctx, at: datetime, action: str, outcome: str, reason: str) -> None:
    with ctx.session_factory() as session:
        session.add(ScalingDecision(at=at, cluster_name="default", aurora_cluster_id="prod-aurora", action=action,
                                    outcome=outcome, current_min_acu=0.5, current_max_acu=8, new_min_acu=0.5,
                                    new_max_acu=16, reason=reason))
        session.commit()


def test_oncall_sees_chart_with_decisions_and_the_log(make_app, ctx, monkeypatch):
    now = datetime.now(UTC)
    add_decision(ctx, now - timedelta(minutes=30), "scale_up", "applied", "utilisation stayed >= 80% for 15 min")
    add_decision(ctx, now - timedelta(minutes=5), "no_change", "skipped", "utilisation within thresholds")
    monkeypatch.setattr(queries, "scaled_clusters", lambda ctx, actor: [CLUSTER])
    monkeypatch.setattr(queries, "capacity_history", lambda ctx, actor, cluster, hours: history(now))

    at = make_app("pages/scaling.py", role="oncall").run()

    assert not at.exception
    assert [m.value for m in at.metric][:2] == ["0.5", "16"]
    chart = at.get("plotly_chart")[0]
    names = [trace["name"] for trace in __import__("json").loads(chart.proto.spec)["data"]]
    assert {"Capacity (ACU)", "Utilisation (%)", "scale up", "no change", "Max ACU",
            "Scale-up threshold 80%"} <= set(names)
    log = at.dataframe[0].value
    assert list(log["Action"]) == ["no change", "scale up"]
    assert_readable(at)
    assert at.get("download_button")


def test_empty_state_without_aurora_clusters(make_app, monkeypatch):
    monkeypatch.setattr(queries, "scaled_clusters", lambda ctx, actor: [])
    at = make_app("pages/scaling.py", role="admin").run()
    assert not at.exception
    assert "No cluster has an Aurora id" in at.info[0].value


def test_cloudwatch_failure_still_shows_the_log(make_app, ctx, monkeypatch):
    add_decision(ctx, datetime.now(UTC) - timedelta(minutes=10), "error", "failed", "could not evaluate")
    monkeypatch.setattr(queries, "scaled_clusters", lambda ctx, actor: [CLUSTER])

    def broken(ctx, actor, cluster, hours):
        raise ExternalServiceError("CloudWatch get_metric_data was denied (AccessDenied)")

    monkeypatch.setattr(queries, "capacity_history", broken)
    at = make_app("pages/scaling.py", role="oncall").run()
    assert not at.exception
    assert "Capacity history unavailable" in at.error[0].value
    assert list(at.dataframe[0].value["Action"]) == ["error"]


@pytest.mark.parametrize("role", ["founder", "support"])
def test_only_oncall_and_admin(make_app, role):
    at = make_app("pages/scaling.py", role=role).run()
    assert "cannot open this page" in at.error[0].value


def test_a_long_aurora_cluster_id_is_shown_whole(make_app, monkeypatch):
    """A metric tile cuts a long value off; Aurora ids have up to 63 characters. The whole id is
    in the line under the tiles, and no tile carries it."""
    long_id = "prod-aurora-serverless-v2-eu-west-1-tenants-shard-00042-main"
    assert len(long_id) == 60
    monkeypatch.setattr(queries, "scaled_clusters", lambda ctx, actor: [{**CLUSTER, "aurora_cluster_id": long_id}])
    monkeypatch.setattr(queries, "capacity_history", lambda ctx, actor, cluster, hours: history(datetime.now(UTC)))
    at = make_app("pages/scaling.py", role="oncall").run()
    assert not at.exception
    assert f"Aurora cluster id: {plain(long_id)}" in [c.value for c in at.caption]
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Aurora cluster"] == "available"
    assert not any("shard" in value for value in tiles.values())
