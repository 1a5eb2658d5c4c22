"""Overview: what is wrong now (the on-call inbox), what waits for this person (admins: archive
requests; support: the outcome of their own), then the headline figures everyone starts from,
each linking to its detailed page."""

import streamlit as st

from control_plane.auth.permissions import Permission
from ui import cached_reads as reads
from ui.archive_queue import render_admin_queue, render_my_requests
from ui.auth import page_guard
from ui.context import app_context
from ui.formatting import percent
from ui.headlines import status_counts
from ui.navigation import link
from ui.oncall_inbox import render_inbox
from ui.revenue_headline import period_caption, render_figures

actor = page_guard(Permission.TENANTS_READ)
ctx = app_context()
st.title("Overview")
if ctx.settings.demo:
    st.caption(":orange-badge[Demo mode] All figures come from generated demo data.")

if actor.can(Permission.UPTIME_READ):
    render_inbox(ctx, actor, key="overview")

if actor.can(Permission.TENANTS_ARCHIVE):
    render_admin_queue(ctx, actor)
elif actor.can(Permission.TENANTS_REQUEST_ARCHIVE):
    render_my_requests(ctx, actor)

counts, plan_mix = status_counts(ctx, actor)
st.subheader("Tenants")
total = sum(counts.values())
if total == 0:
    st.info("No tenants yet. Support provisions the first one on the Tenants page.", icon=":material/apartment:")
cols = st.columns(5)
for col, (label, status) in zip(cols, [("Active", "active"), ("Suspended", "suspended"),
                                       ("Provisioning", "provisioning"), ("Archived", "archived"),
                                       ("All tenants", None)], strict=True):
    with col:
        value = total if status is None else counts.get(status, 0)
        st.metric(label, f"{value:,}", border=True)
        link(actor, "pages/tenants.py", "Open list", {"status": status} if status else None)

if actor.can(Permission.REVENUE_READ):
    st.subheader("Revenue")
    revenue = reads.revenue_headline(ctx, actor, reads.revenue_today(ctx))
    if revenue is None:
        st.warning("Revenue figures are unavailable right now; the Revenue page says why.")
    elif revenue.empty:
        st.info("No subscription history yet: revenue figures start with the first billing import or tenant.")
    else:
        st.caption(period_caption(revenue))
        render_figures(revenue, border=True)
    link(actor, "pages/revenue.py", "MRR movements, churn and retention")

if actor.can(Permission.UPTIME_READ):
    st.subheader("Uptime")
    uptime = reads.uptime_headline(ctx, actor)
    if uptime is None:
        st.warning("Uptime figures are unavailable right now; the Uptime page says why.")
    else:
        # incidents, alerts and targets down are counted once, in the inbox above
        st.columns(3)[0].metric("Uptime, 30 days", percent(uptime["uptime_30d_pct"], 3), border=True)
        link(actor, "pages/uptime.py", "Incidents, SLO and error budget")

if not plan_mix.empty:
    st.subheader("Live tenants by plan")
    st.bar_chart(plan_mix, x="plan", y="tenants", height=220)
