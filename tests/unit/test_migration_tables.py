"""The Migrations page's tables as data (ui/migration_tables.py), without Streamlit."""

from __future__ import annotations

from ui.migration_tables import decisions_frame, progress_frame, results_frame, versions_chart

_GROUP = {"failed": 1, "checks": 40, "incidents": 0, "p95_latency_ms": 120}


def test_progress_has_a_row_per_wave_and_zero_where_a_wave_has_no_such_status():
    frame = progress_frame({"1": {"applied": 5}, "2": {"pending": 20, "failed": 1}})
    assert list(frame["wave"]) == [1, 2]
    assert list(frame["applied"]) == [5, 0] and list(frame["pending"]) == [0, 20]


def test_decisions_judged_before_the_error_rate_existed_still_show():
    old = {"wave": 1, "verdict": "promote", "reasons": [], "migrated": _GROUP, "baseline": _GROUP}
    new = {**old, "wave": 2, "verdict": "halt", "reasons": ["p95 up", "errors up"], "error_rate": "2% vs 0%"}
    frame = decisions_frame([old, new])
    assert list(frame["error rate (CloudWatch)"]) == ["", "2% vs 0%"]
    assert list(frame["reasons"]) == ["", "p95 up; errors up"]
    assert frame["migrated failed/checks"][0] == "1/40"


def test_results_filter_keeps_one_status_or_all_and_survives_no_results():
    rows = [{"tenant": "a", "status": "applied"}, {"tenant": "b", "status": "failed"}]
    assert list(results_frame(rows, "failed")["tenant"]) == ["b"]
    assert len(results_frame(rows, "all")) == 2
    assert results_frame([], "failed").empty


def test_no_tenants_no_chart():
    assert versions_chart([]) is None
    chart = versions_chart([{"version": 2, "status": "active", "tenants": 3}])
    assert chart is not None and list(chart.data[0].x) == ["v2"]
