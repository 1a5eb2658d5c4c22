"""Column labels and formats of the Uptime screen's SLO table (views.uptime_table). The figures
arrive rounded half-up (control_plane/uptime/figures.py); these formats show them at that
precision and never round again."""

from __future__ import annotations

import streamlit as st

SLO_TABLE = {
    "uptime_24h": st.column_config.NumberColumn("24 h %", format="%.3f"),
    "uptime_7d": st.column_config.NumberColumn("7 d %", format="%.3f"),
    "uptime_30d": st.column_config.NumberColumn("30 d %", format="%.3f"),
    "budget_left_pct": st.column_config.ProgressColumn("Budget left", min_value=0, max_value=100, format="%.1f %%"),
    "burn_rate_1h": st.column_config.NumberColumn("Burn 1 h", format="%.2f×"),
    "p95_latency_24h_ms": st.column_config.NumberColumn("p95 24 h (ms)", format="%.2f"),  # exact hundredths
    "scope": "Scope", "name": "Target", "slo_met": st.column_config.CheckboxColumn("SLO met"),
    "checks_30d": st.column_config.NumberColumn("Checks 30 d", format="%d"),
}
