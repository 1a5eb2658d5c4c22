"""The Scaling chart: thresholds on the utilisation (%) axis, named in the legend rather than
labelled over the curves; the max ACU in force drawn across the whole window."""

from __future__ import annotations

import pandas as pd

from ui.aws_charts import capacity_figure

HISTORY = pd.DataFrame({"at": pd.to_datetime(["2026-01-01T00:00Z", "2026-01-01T01:00Z", "2026-01-01T02:00Z"]),
                        "capacity_acu": [2.0, 65.0, 60.0], "utilisation_pct": [50.0, 60.0, 90.0]})
NO_DECISIONS = pd.DataFrame(columns=["at", "outcome", "action", "new_max_acu", "current_max_acu", "reason", "error"])


def _trace(figure, name):
    return next(t for t in figure.data if t.name == name)


def test_thresholds_sit_on_the_percent_axis_with_no_label_over_the_curves():
    figure = capacity_figure(HISTORY, NO_DECISIONS, up_pct=80, down_pct=30)

    assert [(s.yref, s.y0) for s in figure.layout.shapes] == [("y2", 80), ("y2", 30)]
    assert not figure.layout.annotations  # a label inside the plot sat on the utilisation curve
    up, down = _trace(figure, "Scale-up threshold 80%"), _trace(figure, "Scale-down threshold 30%")
    assert up.yaxis == down.yaxis == "y2" and list(up.y) == [80, 80] and list(down.y) == [30, 30]
    assert figure.layout.yaxis2.title.text == "Utilisation %" and figure.layout.yaxis.title.text == "ACU"


def test_the_max_acu_line_spans_the_window():
    decisions = pd.DataFrame({
        "at": pd.to_datetime(["2026-01-01T00:30Z", "2026-01-01T01:30Z"]), "outcome": ["skipped", "applied"],
        "action": ["no_change", "scale_up"], "new_max_acu": [None, 96.0], "current_max_acu": [64.0, 64.0],
        "reason": ["steady", "hot"], "error": [None, None]})
    figure = capacity_figure(HISTORY, decisions, up_pct=80, down_pct=30, max_now=96.0)
    line = _trace(figure, "Max ACU")
    assert list(line.y) == [64.0, 96.0, 96.0] and line.line.width >= 2 and line.yaxis == "y"
    assert (pd.Timestamp(line.x[0]), pd.Timestamp(line.x[-1])) == (HISTORY["at"].min(), HISTORY["at"].max())


def test_no_decisions_still_show_the_max_in_force():
    line = _trace(capacity_figure(HISTORY, NO_DECISIONS, up_pct=80, down_pct=30, max_now=64.0), "Max ACU")
    assert list(line.y) == [64.0, 64.0]
