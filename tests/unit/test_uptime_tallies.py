"""What the Uptime screen says about frames already read (control_plane/uptime/tallies.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from control_plane.uptime import tallies

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def test_slo_rows_by_scope_and_missed():
    table = pd.DataFrame({"scope": ["tenant", "tenant", "platform"], "name": ["a", "b", "db"],
                          "slo_met": [True, False, False]})
    assert list(tallies.slo_rows(table, None, missed_only=False)["name"]) == ["a", "b", "db"]
    assert list(tallies.slo_rows(table, "all", missed_only=True)["name"]) == ["b", "db"]
    assert list(tallies.slo_rows(table, "tenant", missed_only=True)["name"]) == ["b"]
    assert list(tallies.slo_rows(table, "platform", missed_only=False)["name"]) == ["db"]


def test_over_latency_slo_counts_targets_without_a_p95_as_over():
    frame = pd.DataFrame({"p95_latency_ms": [250.0, 90.0, float("nan")]})
    frame["within_slo"] = frame["p95_latency_ms"] <= 200
    assert tallies.over_latency_slo(frame) == 2


def test_span_uptime_is_count_based_over_rollups_and_raw_checks():
    points = pd.DataFrame({"checks": [60, 1, 1], "ok": [59, 1, 0]})  # an hourly roll-up, then raw checks
    assert tallies.span_uptime_pct(points) == 100.0 * 60 / 62
    assert tallies.span_uptime_pct(points.iloc[0:0]) is None


def test_incident_tally_counts_open_and_takes_mttr_of_the_resolved():
    frame = pd.DataFrame({"status": ["resolved", "open", "resolved"],
                          "opened_at": [T0, T0, T0 + timedelta(hours=1)],
                          "resolved_at": [T0 + timedelta(minutes=4), pd.NaT, T0 + timedelta(hours=1, minutes=10)]})
    tally = tallies.incident_tally(frame)
    assert (tally.total, tally.open, tally.mttr_minutes) == (3, 1, 7.0)
    assert tally.describe() == "3 incidents, 1 open; MTTR 7.0 min"
    assert tallies.incident_tally(frame.iloc[0:0]).describe() == "0 incidents, 0 open; MTTR n/a"
