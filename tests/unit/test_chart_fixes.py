"""Figure properties behind issue 18's chart complaints: one colour per job, every incident target
labelled (or a stated top-N), words instead of True/False in legends, per-day usage ranking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from ui import job_charts


def test_each_job_has_its_own_colour():
    jobs = [f"job_{i}" for i in range(9)]
    at = [datetime(2026, 12, 5, tzinfo=UTC) + timedelta(minutes=i) for i in range(18)]
    runs = pd.DataFrame({"job_id": jobs * 2, "status": ["succeeded"] * 9 + ["failed"] * 9,
                         "summary": "done", "error": None, "started_at": at, "seconds": 1.5})
    figure = job_charts.run_durations(runs)
    colour_of: dict[str, set[str]] = {}
    for trace in figure.data:
        job = trace.legendgroup.split(",")[0].strip()
        colour_of.setdefault(job, set()).add(trace.marker.color)
    assert set(colour_of) == set(jobs)
    assert all(len(c) == 1 for c in colour_of.values())  # a job keeps its colour whatever the outcome
    assert len({next(iter(c)) for c in colour_of.values()}) == 9  # nine jobs, nine colours
    symbols = {t.marker.symbol for t in figure.data}
    assert {"circle", "x"} <= symbols  # the outcome shows as the marker


def _incidents(count: int) -> pd.DataFrame:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    return pd.DataFrame({
        "id": range(count), "target": [f"schema:t{i:03d}" for i in range(count)], "status": "resolved",
        "opened_at": [start + timedelta(minutes=i) for i in range(count)],
        "resolved_at": [start + timedelta(minutes=2 * i + 1) for i in range(count)],  # t141 was down longest
        "duration_min": 1.0, "failed_checks": 3, "last_error": "timeout"})


def test_the_incident_timeline_labels_every_target_it_draws():
    from ui.uptime_charts import incident_timeline

    now = datetime(2026, 12, 6, tzinfo=UTC)
    figure = incident_timeline(_incidents(30), now=now, names={"t001": "Acme Corp"})
    ticks = list(figure.layout.yaxis.ticktext)
    assert len(ticks) == 30 and figure.layout.yaxis.tickmode == "array"  # every row labelled, none skipped
    assert "Acme Corp · database" in ticks and not any(t.startswith("schema:") for t in ticks)
    assert figure.layout.height >= 30 * 20  # tall enough for one readable row per target


def test_a_long_incident_list_shows_the_most_downtime_and_says_so():
    from ui.uptime_charts import TIMELINE_SHOWN, incident_timeline

    figure = incident_timeline(_incidents(142), now=datetime(2026, 12, 6, tzinfo=UTC))
    ticks = list(figure.layout.yaxis.ticktext)
    assert len(ticks) == TIMELINE_SHOWN and ticks[0] == "t141 · database"
    assert f"the {TIMELINE_SHOWN} targets with the most downtime of 142" in figure.layout.title.text
    drawn = {y for trace in figure.data for y in trace.y}
    assert drawn == set(ticks)


def test_legends_say_words_not_true_false():
    from ui.uptime_charts import check_history, slowest_targets

    latency = pd.DataFrame({"target": ["schema:a", "http:b"], "p95_latency_ms": [300.0, 20.0],
                            "within_slo": [False, True]})
    points = pd.DataFrame({"at": [datetime(2026, 12, 5, tzinfo=UTC)] * 2, "latency_ms": [5.0, 9.0],
                           "uptime_pct": [100.0, 0.0], "error": [None, "timeout"]})
    for figure in (slowest_targets(latency, 200, {"a": "Acme"}), check_history("schema:a", points, {"a": "Acme"})):
        legend = {t.name for t in figure.data}
        assert legend and not legend & {"True", "False"}, legend
    assert {t.name for t in slowest_targets(latency, 200).data} == {"over SLO", "within SLO"}
    assert check_history("schema:a", points, {"a": "Acme"}).layout.title.text.startswith("Acme · database")
