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
