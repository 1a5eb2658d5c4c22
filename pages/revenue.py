"""Revenue: the headline (the running month to date, with MoM and YoY changes), MRR/ARR,
movements, customers and ARPA, churn, NRR/GRR, cohorts, plan mix, top movers.

Every figure comes from control_plane.revenue.reports (the same engine as `billing mrr`), cached
per user, range, plan filter, day and ledger version (ui/cached_reads.py), so an import shows at once.
"""

import streamlit as st

from control_plane.auth.permissions import Permission
from control_plane.errors import ControlPlaneError
from control_plane.revenue import period as revenue_period
from ui import cached_reads as reads
from ui.auth import page_guard
from ui.context import app_context
from ui.feedback import show_error
from ui.revenue_admin import render_admin
from ui.revenue_headline import render_headline
from ui.revenue_tabs import render_tabs

actor = page_guard(Permission.REVENUE_READ)
ctx = app_context()
st.title("Revenue")
st.caption("Month-end snapshots (UTC calendar months); the running month is month-to-date, compared with the "
           "same days of the month before and of the year before. Each subscription state's MRR rounded to the "
           "cent, every total an exact sum. The same figures as `python -m control_plane billing mrr`.")

try:
    ledger = reads.ledger_key(ctx)
    overview = reads.ledger_span(ctx, actor, ledger)
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
    plans = tuple(sorted(chosen))
    try:
        data = reads.revenue_dashboard(ctx, actor, ledger, start, end, plans=plans)
        figures = reads.revenue_figures(ctx, actor, ledger, end, plans=plans)
    except ControlPlaneError as exc:
        show_error(exc)
        st.stop()
    running = revenue_period.running(ledger[0])
    render_headline(data, figures)
    render_tabs(actor, data, running if start <= running.month_label <= end else None)

render_admin(ctx, actor)
st.caption(f"Data as of {ledger[0].isoformat()} (UTC); cached for up to 5 minutes, refreshed at once when the "
           "ledger changes or the day turns.")
