"""Plotly figures for the Revenue page, built from the report frames (no Streamlit here).
Amounts are exact Decimals in the frames; figures plot them as dollars (display only). Every label
that comes from the data (months, cohorts, plan names) goes in through chart_text: a plan named
`<a href=…>` is drawn as typed, never as a link."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from control_plane.chart_text import chart_labels, chart_text

COLORS = {"new": "#2e7d32", "expansion": "#66bb6a", "reactivation": "#26a69a", "contraction": "#ffa726",
          "churn": "#e53935", "net_new": "#263238", "mrr": "#1565c0", "arr": "#90caf9"}
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend": {"orientation": "h", "y": -0.15},
           "hovermode": "x unified"}


def _dollars(series: pd.Series) -> list[float]:
    return [float(v) for v in series]


def mark_month_to_date(fig: go.Figure, month: str, days: str) -> go.Figure:
    """Label the running month's column month-to-date ('Dec 1–5'): its figures are the month so
    far, not a closed month's."""
    fig.add_annotation(x=month, y=1.0, xref="x", yref="paper", yanchor="bottom", showarrow=False,
                       text=f"month-to-date ({days})", font={"size": 11, "color": "#616161"})
    return fig


def mrr_trend(monthly: pd.DataFrame, measure: str = "mrr") -> go.Figure:
    """MRR (or ARR = 12 × MRR) at each month-end, with the month's net new in the hover."""
    months = chart_labels(monthly["month"])
    name = measure.upper()
    fig = go.Figure(go.Bar(
        x=months, y=_dollars(monthly[measure]), name=name, marker_color=COLORS[measure],
        customdata=list(zip(_dollars(monthly["net_new"]), monthly["customers"], strict=True)),
        hovertemplate=f"%{{x}}: {name} $%{{y:,.2f}}<br>net new MRR $%{{customdata[0]:,.2f}}"
                      "<br>%{customdata[1]} paying customers<extra></extra>"))
    fig.update_yaxes(title_text=f"{name} ($)", tickprefix="$")
    return fig.update_layout(title=f"{name} at each month-end", **_LAYOUT)


def movements(monthly: pd.DataFrame) -> go.Figure:
    months = chart_labels(monthly["month"])
    fig = go.Figure()
    for name in ("new", "reactivation", "expansion", "contraction", "churn"):
        fig.add_bar(x=months, y=_dollars(monthly[name]), name=name.title(), marker_color=COLORS[name])
    fig.add_scatter(x=months, y=_dollars(monthly["net_new"]), name="Net new", mode="lines+markers",
                    line={"color": COLORS["net_new"], "width": 3})
    fig.update_yaxes(title_text="$ per month", tickprefix="$")
    return fig.update_layout(title="MRR movements (stacked) and net new MRR", barmode="relative", **_LAYOUT)


def customers_arpa(monthly: pd.DataFrame) -> go.Figure:
    months = chart_labels(monthly["month"])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=months, y=monthly["customers"], name="Paying customers", marker_color="#5c6bc0")
    fig.add_scatter(x=months, y=_dollars(monthly["arpa"]), name="ARPA", mode="lines+markers",
                    line={"color": "#ef6c00"}, secondary_y=True)
    fig.update_yaxes(title_text="customers", secondary_y=False)
    fig.update_yaxes(title_text="ARPA ($)", tickprefix="$", secondary_y=True, showgrid=False)
    return fig.update_layout(title="Customers and average revenue per account", **_LAYOUT)


def churn_rates(monthly: pd.DataFrame) -> go.Figure:
    months = chart_labels(monthly["month"])
    fig = go.Figure()
    for column, label in (("logo_churn_pct", "Logo churn"), ("gross_revenue_churn_pct", "Gross revenue churn"),
                          ("net_revenue_churn_pct", "Net revenue churn")):
        fig.add_scatter(x=months, y=monthly[column], name=label, mode="lines+markers")
    fig.add_hline(y=0, line={"color": "#9e9e9e", "width": 1})
    fig.update_yaxes(title_text="% of the prior month", ticksuffix="%")
    return fig.update_layout(title="Monthly churn rates", **_LAYOUT)


def retention(monthly: pd.DataFrame) -> go.Figure:
    months = chart_labels(monthly["month"])
    fig = go.Figure()
    fig.add_scatter(x=months, y=monthly["nrr_pct"], name="NRR (12 months)", mode="lines+markers")
    fig.add_scatter(x=months, y=monthly["grr_pct"], name="GRR (12 months)", mode="lines+markers")
    fig.add_hline(y=100, line={"color": "#9e9e9e", "dash": "dot", "width": 1})
    fig.update_yaxes(title_text="% of MRR 12 months earlier", ticksuffix="%")
    return fig.update_layout(title="Net and gross revenue retention", **_LAYOUT)


def cohort_heatmap(cohorts: pd.DataFrame, metric: str) -> go.Figure:
    """metric: 'revenue_retention_pct' or 'logo_retention_pct'."""
    grid = cohorts.pivot(index="cohort", columns="age", values=metric).sort_index()
    sizes = cohorts[cohorts["age"] == 0].set_index("cohort")["cohort_customers"]
    labels = [chart_text(f"{c} ({int(sizes.get(c, 0))})") for c in grid.index]
    text = [["" if pd.isna(v) else f"{v:.0f}%" for v in row] for row in grid.to_numpy()]
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[chart_text(f"+{a}") for a in grid.columns], y=labels, text=text,
                               texttemplate="%{text}", colorscale="Blues", zmin=0,
                               zmax=max(100.0, float(pd.Series(grid.to_numpy().ravel()).max(skipna=True) or 0)),
                               colorbar={"ticksuffix": "%"},
                               hovertemplate="cohort %{y}, month %{x}: %{z:.1f}%<extra></extra>"))
    what = "Revenue" if metric.startswith("revenue") else "Logo"
    fig.update_yaxes(autorange="reversed", title_text="first paid month (customers)")
    fig.update_xaxes(title_text="months since first paid", side="top")
    return fig.update_layout(title=f"{what} retention by cohort", margin=_LAYOUT["margin"],
                             height=max(320, 28 * len(grid.index) + 120))


def plan_mix(by_plan: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for plan, rows in by_plan.groupby("plan", sort=True):
        fig.add_scatter(x=chart_labels(rows["month"]), y=_dollars(rows["mrr"]), name=chart_text(plan),
                        stackgroup="mrr", mode="lines")
    fig.update_yaxes(title_text="MRR ($)", tickprefix="$")
    return fig.update_layout(title="MRR by plan", **_LAYOUT)
