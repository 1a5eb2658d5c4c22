"""The tenant page's figures (docs/tenant-page.md "Tenant page"): plan and MRR history with the billing
facts in force, usage against the plan's allowances with trends whose change is measured over the
same days the sparkline draws, this month's uptime against the SLO with its incidents, and the
noisy-neighbour flag. Everything comes from one TenantStory (services/tenant_story.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from control_plane.services.tenant_story import AVERAGE_DAYS, USAGE_DAYS, TenantStory, Usage
from control_plane.units import human_bytes
from control_plane.uptime.figures import fixed, minutes
from ui.formatting import cents, share, signed_bytes, signed_cents, signed_count, utc_day, utc_time
from ui.text import plain


def render_billing(story: TenantStory) -> None:
    st.subheader("Plan and billing")
    billing = story.billing
    if billing is None:
        _plan_history(story)
        st.caption("MRR and billing are shown to roles that read revenue (founder, admin).")
        return
    if not billing.history:
        st.info("No subscription in the revenue ledger for this tenant yet.", icon=":material/receipt_long:")
        return
    current = billing.current
    cols = st.columns(2)
    cols[0].metric("MRR now", cents(billing.mrr_cents), border=True)
    cols[1].metric("Billing status", "not started" if current is None else current.status, border=True)
    if current is not None:
        discount = f" less {current.discount_percent.normalize():f} %" if current.discount_percent else ""
        st.markdown(f"**Billed** {current.seats} × {cents(int(current.price * 100))} per {current.interval}"
                    f"{discount} on the {plain(current.plan)} plan · **Since** {utc_day_of(current.effective_date)}")
    for upcoming in billing.scheduled:
        st.caption(f"Scheduled from {upcoming.effective_date:%Y-%m-%d}: {plain(upcoming.plan)} "
                   f"({upcoming.status}), MRR {cents(upcoming.mrr_cents)}.")
    frame = pd.DataFrame([{
        "From": p.effective_date, "Plan": p.plan, "Status": p.status, "Interval": p.interval,
        "Seats": p.seats, "Price": cents(int(p.price * 100)), "Discount": f"{p.discount_percent.normalize():f} %",
        "MRR": cents(p.mrr_cents), "Change": signed_cents(p.change_cents), "Source": p.source,
    } for p in reversed(billing.history)])
    st.markdown("**Plan and MRR history** (newest first)")
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={"From": st.column_config.DateColumn("From", format="YYYY-MM-DD")})


def _plan_history(story: TenantStory) -> None:
    """The ledger's plan changes without their money, for roles that do not read revenue."""
    if not story.plan_history:
        st.info("No subscription in the revenue ledger for this tenant yet.", icon=":material/receipt_long:")
        return
    frame = pd.DataFrame([{"From": p.effective_date, "Plan": p.plan, "Status": p.status, "Interval": p.interval,
                           "Seats": p.seats} for p in reversed(story.plan_history)])
    st.markdown("**Plan history** (newest first)")
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={"From": st.column_config.DateColumn("From", format="YYYY-MM-DD")})


def utc_day_of(day) -> str:
    return f"{day:%Y-%m-%d}"


def render_usage(story: TenantStory) -> None:
    usage = story.usage
    st.subheader("Usage against the plan")
    if not usage.days and usage.today is None:
        st.info("No usage recorded yet: the usage roll-up job fills this in daily.", icon=":material/bar_chart:")
    else:
        _trends(usage)
    _allowances(story)


def _trends(usage: Usage) -> None:
    days = usage.days
    cols = st.columns(3)
    storage = [d.storage_bytes for d in days] + ([usage.today.storage_bytes] if usage.today else [])
    change = usage.storage_change
    cols[0].metric("Storage", human_bytes(usage.storage_now or 0),
                   None if change is None else f"{signed_bytes(change)} over {len(storage) - 1} d",
                   chart_data=storage, chart_type="area", border=True)
    average, before = usage.requests_average(), usage.requests_average(1)
    requests = [d.requests for d in days]
    if average is None:
        cols[1].metric("Requests / day", f"{requests[-1]:,}" if requests else "–",
                       chart_data=requests or None, chart_type="bar", border=True,
                       help=f"Fewer than {AVERAGE_DAYS} complete days recorded: the latest day is shown.")
    else:
        cols[1].metric("Requests / day", f"{float(average):,.0f}",
                       None if before is None else f"{signed_count(float(average - before))} vs prior {AVERAGE_DAYS} d",
                       chart_data=requests, chart_type="bar", border=True,
                       help=f"Mean of the last {AVERAGE_DAYS} complete days, against the {AVERAGE_DAYS} before them.")
    latencies = [float(d.p95_latency_ms) for d in days if d.p95_latency_ms is not None]
    if latencies:
        delta = latencies[-1] - latencies[0] if len(latencies) > 1 else None
        cols[2].metric("p95 latency (latest day)", f"{latencies[-1]:,.0f} ms",
                       None if delta is None else f"{signed_count(delta)} ms over {len(latencies) - 1} d",
                       delta_color="inverse", chart_data=latencies, chart_type="area", border=True)
    else:
        cols[2].metric("p95 latency", "–", border=True)
    caption = f"Trends over the last {USAGE_DAYS} complete days; each change compares the latest value with the " \
              "first one its chart shows."
    if usage.today is not None:
        caption += f" Today so far: {usage.today.requests:,} requests (a partial day, left out of the averages)."
    st.caption(caption)


def _allowances(story: TenantStory) -> None:
    usage, plan = story.usage, story.tenant.plan
    allowance = usage.allowance
    if allowance is None:
        st.caption(f"No allowances are declared for the {plain(plan)} plan.")
        return
    for label, used, limit, fraction in (
            ("Storage", human_bytes(usage.storage_now or 0), human_bytes(allowance.storage_bytes),
             usage.storage_share),
            (f"Requests / day ({AVERAGE_DAYS}-day average)",
             "–" if usage.requests_average() is None else f"{float(usage.requests_average()):,.0f}",
             f"{allowance.requests_per_day:,}", usage.requests_share)):
        text = f"{label}: {used} of {limit} on {plan} ({share(fraction)})"
        st.progress(min(1.0, float(fraction or 0)), text=plain(text))
        if fraction is not None and fraction > 1:
            st.warning(plain(f"{label} is over the {plan} plan's allowance."), icon=":material/warning:")
    st.caption("Plan allowances are illustrative and only displayed, never enforced (docs/tenant-page.md).")


def render_month(story: TenantStory) -> None:
    month = story.month
    st.subheader("Uptime this month")
    target = fixed(month.slo_target * 100, 1)
    st.caption(f"{month.start:%B %Y} so far: from {utc_time(month.start)} to {utc_time(month.end)}.")
    cols = st.columns(4)
    cols[0].metric("Uptime month-to-date", "no checks" if month.uptime is None else f"{fixed(month.uptime, 3)} %",
                   border=True)
    verdict = {None: "no checks", True: "met", False: "missed"}[month.slo_met]
    cols[1].metric(f"SLO {target} %", verdict, border=True)
    cols[2].metric("Error budget left", "–" if month.budget_left is None else f"{fixed(month.budget_left, 1)} %",
                   border=True)
    cols[3].metric("Incidents", f"{len(month.incidents)}", border=True)
    if month.checks:
        st.caption(f"{month.ok:,} of {month.checks:,} checks OK, maintenance windows left out; the SLO is met when "
                   f"OK ≥ {target} % of checks, decided on the exact figure (docs/uptime.md).")
    if month.incidents:
        frame = pd.DataFrame([{
            "Opened": utc_time(i.opened_at), "Resolved": utc_time(i.resolved_at) if i.resolved_at else "open",
            "Minutes": fixed(minutes((i.resolved_at or story.now) - i.opened_at), 1), "Check": i.target,
            "Failed checks": i.failed_checks, "Acknowledged by": i.acknowledged_by or "–",
            "Last error": i.last_error or "–"} for i in month.incidents])
        st.dataframe(frame, hide_index=True, width="stretch")
    elif month.checks:
        st.caption("No incident this month.")


def render_noisy(story: TenantStory) -> None:
    flags = story.open_noisy
    for flag in flags:
        st.warning(plain(f"Noisy neighbour since {utc_time(flag.at)}: {flag.metric} at {flag.factor}× its 7-day "
                         f"baseline. {flag.recommendation}"), icon=":material/campaign:")
    cleared = [f for f in story.noisy if f.cleared_at is not None]
    if cleared:
        st.caption(f"Noisy-neighbour flags cleared in the last 30 days: {len(cleared)} "
                   f"(latest cleared {utc_day(cleared[0].cleared_at)}).")
