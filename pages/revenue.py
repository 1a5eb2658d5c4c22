"""Revenue: MRR/ARR, movements, customers and ARPA, churn, NRR/GRR, cohorts, plan mix, top movers.

Every figure comes from control_plane.revenue.reports (the same engine as `billing mrr`), cached
per role, range, plan filter, month and ledger version, so an import shows at once.
"""

from __future__ import annotations

import io
import math
from urllib.parse import quote

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from control_plane.auth.permissions import Permission
from control_plane.errors import ControlPlaneError
from control_plane.revenue import charts, importer, plans, reports
from control_plane.revenue.months import label
from ui.auth import page_guard
from ui.context import app_context
from ui.feedback import csv_download as safe_csv_download
from ui.feedback import show_error
from ui.formatting import compact_money, money
from ui.text import plain

actor = page_guard(Permission.REVENUE_READ)
ctx = app_context()


@st.cache_data(ttl=300, show_spinner=False, max_entries=16)
def span(key: tuple, _actor) -> reports.LedgerSpan:
    return reports.ledger_span(ctx, _actor)


@st.cache_data(ttl=300, show_spinner="Computing revenue…", max_entries=64)
def load(key: tuple, start: str | None, end: str | None, plan_filter: tuple[str, ...], _actor) -> reports.Dashboard:
    """Every argument that changes the answer is hashed: key = (role, this month, ledger version),
    the range and the plans; `_actor` (not hashed) only authorises."""
    return reports.dashboard(ctx, _actor, start, end, plan_filter)


def csv_download(frame, name: str, key: str) -> None:
    safe_csv_download(frame, f"{name}.csv", key=key, label=f"Download {name} (CSV)")


def tenant_link(text: str, slug: str) -> None:
    """A link to the tenant on the Tenants page (`?tenant=<slug>`, the agreed convention). `text`
    is Markdown already escaped by the caller."""
    try:
        st.page_link("pages/tenants.py", label=text, query_params={"tenant": slug}, icon=":material/open_in_new:")
    except StreamlitPageNotFoundError:  # this file opened on its own, outside st.navigation
        st.markdown(f"[{text}](tenants?tenant={quote(slug, safe='')})")



st.title("Revenue")
st.caption("Month-end snapshots (UTC calendar months); each subscription state's MRR rounded to the cent, "
           "every total an exact sum. The same figures as `python -m control_plane billing mrr`.")

try:
    key = (actor.role.value, reports.current_month(), reports.ledger_version(ctx))
    overview = span(key, _actor=actor)
except ControlPlaneError as exc:
    show_error(exc)
    st.stop()

if not overview.months:
    st.info("No subscription history yet. Import it with `python -m control_plane billing import FILE.csv`"
            + (" or below." if actor.can(Permission.BILLING_IMPORT) else "."))
else:
    left, right = st.columns([3, 2])
    default_start = overview.months[max(0, len(overview.months) - 12)]
    start, end = left.select_slider("Months", options=overview.months, key="rev_range",
                                    value=(default_start, overview.months[-1]))
    chosen = right.multiselect("Plans", overview.plans, key="rev_plans", placeholder="All plans",
                               help="A tenant counts in a plan's figures while it is on that plan; moving "
                                    "between plans shows as churn from one and new in the other.")
    try:
        data = load(key, start, end, tuple(sorted(chosen)), _actor=actor)
    except ControlPlaneError as exc:
        show_error(exc)
        st.stop()
    monthly = data.monthly
    last = monthly.iloc[-1]
    before = monthly.iloc[-2] if len(monthly) > 1 else None
    cols = st.columns(5)
    cols[0].metric(f"MRR ({data.end})", compact_money(last["mrr"]), help=f"Exactly {money(last['mrr'])}",
                   delta=money(last["net_new"]) if before is not None else None)
    cols[1].metric("ARR", compact_money(last["arr"]), help=f"12 × MRR = {money(last['arr'])}")
    cols[2].metric("Paying customers", int(last["customers"]),
                   delta=int(last["customers"] - before["customers"]) if before is not None else None)
    cols[3].metric("ARPA", money(last["arpa"]))
    nrr = last["nrr_pct"]
    cols[4].metric("NRR (12 months)", "—" if math.isnan(nrr) else f"{nrr:.1f}%")  # NaN: under 12 months of data

    # Lazy tabs: only the open tab's charts are built and sent, which keeps every rerun quick.
    trend, customers, retention, mix, movers, table = st.tabs(
        ["MRR & movements", "Customers & churn", "Retention & cohorts", "Plan mix", "Top movers", "Monthly table"],
        key="rev_tab", on_change="rerun")
    with trend:
        if trend.open:
            measure = st.segmented_control("Trend of", ["MRR", "ARR"], default="MRR", key="rev_measure")
            st.plotly_chart(charts.mrr_trend(monthly, (measure or "MRR").lower()), key="chart_trend")
            st.plotly_chart(charts.movements(monthly), key="chart_movements")
            csv_download(monthly[[*reports.MRR_COLUMNS, "arr"]], f"mrr-{data.start}-{data.end}", "dl_mrr")
    with customers:
        if customers.open:
            st.plotly_chart(charts.customers_arpa(monthly), key="chart_customers")
            st.plotly_chart(charts.churn_rates(monthly), key="chart_churn")
            csv_download(monthly[["month", "customers", "arpa", "churned_customers", "logo_churn_pct",
                                  "gross_revenue_churn_pct", "net_revenue_churn_pct"]], "customers-churn", "dl_churn")
    with retention:
        if retention.open:
            st.plotly_chart(charts.retention(monthly), key="chart_nrr")
            csv_download(monthly[["month", "nrr_pct", "grr_pct"]], "nrr-grr", "dl_nrr")
            if data.cohorts.empty:
                st.info("No paying customers started in this range.")
            else:
                metric = st.segmented_control("Cohorts by", ["Revenue", "Logos"], default="Revenue", key="rev_cohort")
                column = "logo_retention_pct" if metric == "Logos" else "revenue_retention_pct"
                st.plotly_chart(charts.cohort_heatmap(data.cohorts, column), key="chart_cohorts")
                csv_download(data.cohorts, "cohorts", "dl_cohorts")
    with mix:
        if mix.open:
            if data.by_plan.empty:
                st.info("No paying customers in this range.")
            else:
                st.plotly_chart(charts.plan_mix(data.by_plan), key="chart_plans")
                now = data.by_plan[data.by_plan["month"] == data.end]
                st.dataframe(now[["plan", "customers", "mrr"]], hide_index=True, key="plan_now")
                csv_download(data.by_plan, "mrr-by-plan", "dl_plans")
    with movers:
        if movers.open:
            st.subheader(f"Biggest movements in {data.end}")
            if data.movers.empty:
                st.info(f"No MRR movements in {data.end}.")
            else:
                for row in data.movers.head(10).itertuples():
                    text = plain(f"{row.tenant} — {row.movement} {money(row.change)} "
                                 f"(now {money(row.mrr)}, {row.plan})")
                    if row.provisioned:
                        tenant_link(text, row.tenant)
                    else:
                        st.markdown(f"{text} · *no longer provisioned*")
                st.dataframe(data.movers, hide_index=True, key="movers")
                csv_download(data.movers, f"movers-{data.end}", "dl_movers")
            st.subheader(f"Top tenants by MRR in {data.end}")
            st.dataframe(data.top_tenants.head(25), hide_index=True, key="top_tenants")
            csv_download(data.top_tenants, f"tenants-by-mrr-{data.end}", "dl_top")
    with table:
        if table.open:
            st.dataframe(monthly[reports.TABLE_COLUMNS], hide_index=True, key="monthly_table")
            csv_download(monthly, f"revenue-{data.start}-{data.end}", "dl_table")

if actor.can(Permission.PLANS_MANAGE) or actor.can(Permission.BILLING_IMPORT):
    st.divider()
    st.subheader("Administration")
    if actor.can(Permission.PLANS_MANAGE):
        with st.expander("Plans and list prices"):
            current = plans.list_plans(ctx, actor)
            st.dataframe([p.as_dict() for p in current], hide_index=True, key="plans_table")
            with st.form("plan_form"):
                code = st.text_input("Plan code", key="plan_code", help="An existing code edits it; a new one adds it.")
                name = st.text_input("Name", key="plan_name")
                price = st.text_input("List price per interval per seat", key="plan_price", placeholder="49.00")
                interval = st.selectbox("Interval", ["month", "year"], key="plan_interval")
                saved = st.form_submit_button("Save plan")
            if saved:
                try:
                    view = plans.save_plan(ctx, actor, code, name=name or None, list_price=price or None,
                                           interval=interval)
                    st.success(f"Saved plan {plain(view.code)}: {money(view.list_price)} per {view.interval}. "
                               "Existing subscriptions keep their price.")
                except ControlPlaneError as exc:
                    show_error(exc)
    if actor.can(Permission.BILLING_IMPORT):
        with st.expander("Import subscription changes (CSV)"):
            st.caption("Columns: " + ",".join(importer.COLUMNS) + ". A row replaces the tenant's row for the "
                       "same date; any bad row rejects the whole file.")
            upload = st.file_uploader("CSV file", type=["csv"], key="billing_upload")
            if upload is not None and st.button("Import", key="billing_import", type="primary"):
                try:
                    text = io.StringIO(upload.getvalue().decode("utf-8-sig"))
                    with st.spinner("Importing…"):
                        result = importer.import_states(ctx, actor, importer.parse(text, upload.name), upload.name)
                    st.success(f"Imported {result.rows} rows ({result.inserted} new, {result.replaced} replaced) "
                               f"for {result.tenants} tenants.")
                except importer.ImportRejected as exc:
                    st.error(f"{len(exc.problems)} bad rows; nothing was imported.")
                    st.dataframe([{"line": line, "problem": msg} for line, msg in exc.problems], hide_index=True)
                except UnicodeDecodeError:
                    st.error("The file is not UTF-8 text.")
                except ControlPlaneError as exc:
                    show_error(exc)

st.caption(f"Data as of {label(reports.current_month())}; cached for up to 5 minutes, refreshed at once "
           "when the ledger changes.")
