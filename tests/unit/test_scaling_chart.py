"""The Scaling chart puts the utilisation thresholds, lines and labels, on the utilisation (%) axis."""

from __future__ import annotations

import pandas as pd

from ui.aws_charts import capacity_figure


def test_threshold_lines_and_labels_sit_on_the_percent_axis():
    history = pd.DataFrame({"at": pd.to_datetime(["2026-01-01T00:00Z", "2026-01-01T01:00Z"]),
                            "capacity_acu": [2.0, 65.0], "utilisation_pct": [50.0, 60.0]})
    decisions = pd.DataFrame(columns=["at", "outcome", "action", "new_max_acu", "current_max_acu", "reason", "error"])
    figure = capacity_figure(history, decisions, up_pct=80, down_pct=30)

    assert [(s.yref, s.y0) for s in figure.layout.shapes] == [("y2", 80), ("y2", 30)]
    labels = {a.text: (a.yref, a.y) for a in figure.layout.annotations}
    assert labels == {"scale-up threshold 80%": ("y2", 80), "scale-down threshold 30%": ("y2", 30)}
    assert figure.layout.yaxis2.title.text == "Utilisation %" and figure.layout.yaxis.title.text == "ACU"
