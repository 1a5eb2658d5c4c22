"""Text from data (plan, tenant, cluster and target names, errors, month labels) as literal text in
a Plotly figure. Plotly reads a subset of HTML (`<a href>`, `<b>`, `<br>`, `<span style>`) and
decodes entities in every text it draws: legend entries (trace names), category labels and axis
ticks, hover text, annotations and titles. Escaping `<`, `>` and `&` shows the tags as typed
(docs/security.md "Untrusted input"). Figures are built in control_plane/revenue/charts.py and
ui/*charts*.py; tests/unit/test_user_text_and_csv_safety.py feeds each one hostile names."""

from __future__ import annotations

import html
from collections.abc import Iterable


def chart_text(value: object) -> str:
    """`value` as literal text in anything Plotly draws."""
    return html.escape("" if value is None else str(value), quote=False)


def chart_labels(values: Iterable[object]) -> list[str]:
    """Category labels (x or y values, legend entries) as literal text."""
    return [chart_text(v) for v in values]
