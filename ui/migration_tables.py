"""The Migrations page's tables and chart as data: what the fleet service returns, shaped for
display (docs/migrations.md "The Migrations page"). No Streamlit here, so each shape is tested
on its own."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
from plotly.graph_objects import Figure

from ui.formatting import table
from ui.text import chart_frame

RESULT_FILTERS = ("all", "failed", "pending", "applied", "skipped", "reversed")


def versions_chart(tenants: list[dict[str, Any]]) -> Figure | None:
    """Tenants per template version, stacked by status; None when there are no tenants."""
    spread = pd.DataFrame(tenants, columns=["version", "status", "tenants"])
    if spread.empty:
        return None
    return px.bar(chart_frame(spread.assign(version=spread["version"].map(lambda v: f"v{v}")), "version", "status"),
                  x="version", y="tenants",
                  color="status", title="Tenants per template version")


def progress_frame(progress: dict[Any, dict[str, int]]) -> pd.DataFrame:
    """One row per wave, a column per result status (0 where a wave has none)."""
    return pd.DataFrame([{"wave": int(w), **counts} for w, counts in progress.items()]).fillna(0)


def decisions_frame(decisions: list[dict[str, Any]]) -> pd.DataFrame:
    """The health comparison that decided each promotion or halt, one row per judged wave."""
    return pd.DataFrame([{
        "wave": d["wave"], "verdict": d["verdict"], "reasons": "; ".join(d["reasons"]),
        "migrated failed/checks": f"{d['migrated']['failed']}/{d['migrated']['checks']}",
        "others failed/checks": f"{d['baseline']['failed']}/{d['baseline']['checks']}",
        "migrated incidents": d["migrated"]["incidents"], "others incidents": d["baseline"]["incidents"],
        "migrated p95 ms": d["migrated"]["p95_latency_ms"], "others p95 ms": d["baseline"]["p95_latency_ms"],
        "error rate (CloudWatch)": d.get("error_rate", ""),  # runs judged before it was compared lack it
    } for d in decisions])


def results_frame(results: list[dict[str, Any]], shown: str) -> pd.DataFrame:
    """Per-tenant results, only those with status `shown` unless it is "all"."""
    frame = pd.DataFrame(results)
    if shown != "all" and not frame.empty:
        frame = frame[frame["status"] == shown]
    return frame


def results_shown(results: pd.DataFrame) -> pd.DataFrame:
    """`results_frame` as read on screen: durations in words, versions as v2 → v3, human headers."""
    if results.empty:
        return table(pd.DataFrame(columns=["tenant", "cluster", "wave", "from", "to", "status"]))
    seconds = results["duration_ms"].map(lambda ms: None if pd.isna(ms) else ms / 1000)
    return table(results.assign(duration_ms=seconds, **{"from": results["from"].map(_version),
                                                        "to": results["to"].map(_version)}),
                 duration_cols=["duration_ms"], labels={"duration_ms": "Took", "from": "From", "to": "To"})


def _version(value: object) -> str | None:
    return None if value is None or pd.isna(value) else f"v{int(value)}"
