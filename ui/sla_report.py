"""The Uptime screen's SLA report section: one tenant's month-by-month uptime, incidents,
downtime and MTTR (docs/uptime.md "SLA report"), with a CSV export."""

from __future__ import annotations

import streamlit as st

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from ui import cached_reads as reads
from ui.feedback import csv_download, show_error
from ui.uptime_tables import sla_table, tenant_names


def render_sla_report(ctx: AppContext, actor: Actor) -> None:
    slug_col, months_col = st.columns([3, 1])
    slug = slug_col.text_input("Tenant slug", key="sla_slug").strip()
    months = months_col.number_input("Months", min_value=1, max_value=36, value=12, key="sla_months")
    if not slug:
        st.info("Enter a tenant slug for its monthly uptime, incidents and downtime.")
        return
    try:
        report = reads.sla(ctx, actor, slug, int(months))
    except ControlPlaneError as exc:  # a slug that is not one: the service says why
        show_error(exc)
        return
    st.dataframe(sla_table(report, tenant_names(ctx, actor, [slug])), hide_index=True, width="stretch")
    csv_download(report, f"sla-{slug}.csv", key="sla_csv", label="Download SLA report (CSV)")
