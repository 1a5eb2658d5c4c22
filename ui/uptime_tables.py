"""The Uptime screen's tables as read on screen (docs/pages.md "Display conventions"): tenant
names instead of target ids, UTC times, durations in words, flags in words, human headers. The
figures arrive rounded half-up (control_plane/uptime/figures.py) and are never rounded again;
CSV downloads keep the service's frames as they are."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.uptime import targets
from ui import cached_reads as reads
from ui.formatting import MISSING, target_label
from ui.formatting import table as readable

SLO_FORMATS = {  # numeric columns stay numbers (sortable); these formats show them at their precision
    "Uptime (24 h)": st.column_config.NumberColumn(format="%.3f %%"),
    "Uptime (7 d)": st.column_config.NumberColumn(format="%.3f %%"),
    "Uptime (30 d)": st.column_config.NumberColumn(format="%.3f %%"),
    "Error budget left": st.column_config.NumberColumn(format="%.1f %%"),
    "Burn rate (1 h)": st.column_config.NumberColumn(format="%.2f×"),
    "p95 latency, 24 h (ms)": st.column_config.NumberColumn(format="%.2f"),
    "Checks (30 d)": st.column_config.NumberColumn(format="%d"),
}
SLO_LABELS = {"scope": "Scope", "name": "Target", "uptime_24h": "Uptime (24 h)", "uptime_7d": "Uptime (7 d)",
              "uptime_30d": "Uptime (30 d)", "slo_met": "SLO", "budget_left_pct": "Error budget left",
              "burn_rate_1h": "Burn rate (1 h)", "p95_latency_24h_ms": "p95 latency, 24 h (ms)",
              "checks_30d": "Checks (30 d)"}


def tenant_names(ctx: AppContext, actor: Actor, names: Iterable[object]) -> dict[str, str]:
    """slug -> tenant name for every tenant a column of targets or slugs mentions (one query)."""
    slugs = {targets.tenant_of(str(n)) or str(n) for n in names if isinstance(n, str)}
    return reads.tenant_names(ctx, actor, tuple(sorted(slugs)))


def labelled(frame: pd.DataFrame, names: Mapping[str, str], column: str = "target") -> pd.DataFrame:
    """`frame` with its target column as tenant names ("Acme Corp · database")."""
    if column not in frame.columns:
        return frame
    return frame.assign(**{column: [target_label(t, names) for t in frame[column]]})


def slo_table(frame: pd.DataFrame, names: Mapping[str, str]) -> tuple[pd.DataFrame, dict]:
    """The SLO table and the column formats for its numeric columns."""
    shown = frame.assign(name=[names.get(n, n) if s == "tenant" else target_label(n, names)
                               for s, n in zip(frame["scope"], frame["name"], strict=True)])
    shown = readable(shown, flag_cols={"slo_met": ("met", "missed")}, labels=SLO_LABELS)
    config = {c: f for c, f in SLO_FORMATS.items() if c in shown and shown[c].dtype.kind in "if"}
    return shown, config


def latency_table(frame: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    shown = labelled(frame, names).drop(columns=["tenant"])
    return readable(shown, flag_cols={"within_slo": ("within SLO", "over SLO")},
                    labels={"p95_latency_ms": "p95 latency (ms)", "within_slo": "Latency SLO"})


def incidents_table(frame: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    shown = labelled(frame, names).drop(columns=["tenant"])
    return readable(shown, minutes_cols=["duration_min"], labels={"id": "Incident"})


def down_table(frame: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    shown = labelled(frame, names).drop(columns=["tenant"])
    return readable(shown, labels={"incident_id": "Incident", "down_since": "Down since"})


def alerts_table(frame: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    shown = labelled(frame, names).assign(tenant=[names.get(t, t) if isinstance(t, str) else MISSING
                                                  for t in frame["tenant"]])
    return readable(shown, flag_cols={"published": ("sent", "not sent")}, labels={"published": "SNS"})


def sla_table(frame: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    shown = frame.assign(tenant=[names.get(t, t) for t in frame["tenant"]])
    return readable(shown, percent_cols={"uptime_pct": 3}, flag_cols={"slo_met": ("met", "missed")},
                    minutes_cols=["downtime_minutes", "mttr_minutes"],
                    labels={"uptime_pct": "Uptime", "slo_met": "SLO", "downtime_minutes": "Downtime",
                            "mttr_minutes": "MTTR"})
