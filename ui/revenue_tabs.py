"""The Revenue screen's tabs over one Dashboard (control_plane.revenue.reports): trend and
movements, customers and churn, retention and cohorts, plan mix, top movers, the monthly table;
each with its CSV export. Tabs are lazy: only the open tab's charts are built and sent, which
keeps every rerun quick."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor
from control_plane.revenue import charts, reports
from control_plane.revenue.period import Period
from control_plane.revenue.reports import Dashboard
from ui.feedback import csv_download
from ui.formatting import money
from ui.formatting import table as readable
from ui.navigation import link
from ui.text import plain

TABS = ["MRR & movements", "Customers & churn", "Retention & cohorts", "Plan mix", "Top movers", "Monthly table"]
CHURN_COLUMNS = ["month", "customers", "arpa", "churned_customers", "logo_churn_pct", "gross_revenue_churn_pct",
                 "net_revenue_churn_pct"]


def render_tabs(actor: Actor, data: Dashboard, running: Period | None = None) -> None:
    """`running`: today's month when it is in the range, so every tab says it is month-to-date."""
    trend, customers, retention, mix, movers, table = st.tabs(TABS, key="rev_tab", on_change="rerun")
    monthly = data.monthly
    note = (f"{running.month_label} is **month-to-date** ({running.label()}): its bar, point and row are the "
            f"month so far, not a closed month.") if running else None
    with trend:
        if trend.open:
            _note(note)
            measure = st.segmented_control("Trend of", ["MRR", "ARR"], default="MRR", key="rev_measure")
            st.plotly_chart(_marked(charts.mrr_trend(monthly, (measure or "MRR").lower()), running),
                            key="chart_trend")
            st.plotly_chart(_marked(charts.movements(monthly), running), key="chart_movements")
            _download(monthly[[*reports.MRR_COLUMNS, "arr"]], f"mrr-{data.start}-{data.end}", "dl_mrr")
    with customers:
        if customers.open:
            _note(note)
            st.plotly_chart(_marked(charts.customers_arpa(monthly), running), key="chart_customers")
            st.plotly_chart(_marked(charts.churn_rates(monthly), running), key="chart_churn")
            _download(monthly[CHURN_COLUMNS], "customers-churn", "dl_churn")
    with retention:
        if retention.open:
            _note(note)
            _retention(data)
    with mix:
        if mix.open:
            _note(note)
            _plan_mix(data)
    with movers:
        if movers.open:
            _movers(actor, data, running)
    with table:
        if table.open:
            _note(note)
            st.dataframe(shown(monthly[reports.TABLE_COLUMNS]), hide_index=True, key="monthly_table")
            _download(monthly, f"revenue-{data.start}-{data.end}", "dl_table")


def shown(frame: pd.DataFrame, provisioned: tuple[str, str] = ("yes", "no")) -> pd.DataFrame:
    """A revenue table as read on screen: money as $1,234.56, rates as 12.3 %, human headers (the
    CSV keeps the exact values)."""
    return readable(frame, money_cols=[c for c in frame.columns if c in reports.MONEY_COLUMNS],
                    percent_cols={c: 1 for c in frame.columns if c.endswith("_pct")},
                    flag_cols={"provisioned": provisioned})


def _note(text: str | None) -> None:
    if text:
        st.caption(text)


def _marked(figure, running: Period | None):
    return charts.mark_month_to_date(figure, running.month_label, running.label()) if running else figure


def _end_label(data: Dashboard, running: Period | None) -> str:
    """'2026-12 (month-to-date, Dec 1–5)' for the running month, else the month."""
    if running is not None and data.end == running.month_label:
        return f"{data.end} (month-to-date, {running.label()})"
    return data.end


def _download(frame: pd.DataFrame, stem: str, key: str) -> None:
    """Each download is labelled with its file's name: several sit on one tab."""
    csv_download(frame, f"{stem}.csv", key=key, label=f"Download {stem} (CSV)")


def _retention(data: Dashboard) -> None:
    st.plotly_chart(charts.retention(data.monthly), key="chart_nrr")
    _download(data.monthly[["month", "nrr_pct", "grr_pct"]], "nrr-grr", "dl_nrr")
    if data.cohorts.empty:
        st.info("No paying customers started in this range.")
        return
    metric = st.segmented_control("Cohorts by", ["Revenue", "Logos"], default="Revenue", key="rev_cohort")
    column = "logo_retention_pct" if metric == "Logos" else "revenue_retention_pct"
    st.plotly_chart(charts.cohort_heatmap(data.cohorts, column), key="chart_cohorts")
    _download(data.cohorts, "cohorts", "dl_cohorts")


def _plan_mix(data: Dashboard) -> None:
    if data.by_plan.empty:
        st.info("No paying customers in this range.")
        return
    st.plotly_chart(charts.plan_mix(data.by_plan), key="chart_plans")
    now = data.by_plan[data.by_plan["month"] == data.end]
    st.dataframe(shown(now[["plan", "customers", "mrr"]]), hide_index=True, key="plan_now")
    _download(data.by_plan, "mrr-by-plan", "dl_plans")


def _movers(actor: Actor, data: Dashboard, running: Period | None) -> None:
    end = _end_label(data, running)
    st.subheader(f"Biggest movements in {end}")
    if data.movers.empty:
        st.info(f"No MRR movements in {end}.")
    else:
        for row in data.movers.head(10).itertuples():
            text = plain(f"{row.tenant} — {row.movement} {money(row.change)} (now {money(row.mrr)}, {row.plan})")
            if row.provisioned:  # to the tenant's page (`?tenant=<slug>`, the agreed link convention)
                link(actor, "pages/tenants.py", text, {"tenant": row.tenant}, icon=":material/open_in_new:")
            else:
                st.markdown(f"{text} · *no longer provisioned*")
        st.dataframe(shown(data.movers, provisioned=("yes", "no longer")), hide_index=True, key="movers")
        _download(data.movers, f"movers-{data.end}", "dl_movers")
    st.subheader(f"Top tenants by MRR in {end}")
    st.dataframe(shown(data.top_tenants.head(25), provisioned=("yes", "no longer")), hide_index=True,
                 key="top_tenants")
    _download(data.top_tenants, f"tenants-by-mrr-{data.end}", "dl_top")
