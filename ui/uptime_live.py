"""The Uptime screen's "now" section: fleet tiles and the targets failing their latest check,
redrawn every minute by itself (a guarded fragment: the session is checked on every tick)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from control_plane.uptime import views
from control_plane.uptime.figures import fixed
from ui import cached_reads as reads
from ui.feedback import show_error
from ui.fragments import guarded_fragment
from ui.uptime_tables import down_table, tenant_names


@guarded_fragment(Permission.UPTIME_READ, run_every=timedelta(seconds=60))
def render_live(ctx: AppContext, *, actor: Actor) -> None:
    try:
        figures = reads.fleet(ctx, actor)
        down = views.down_now(ctx, actor)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    cols = st.columns(3)  # open incidents are counted in the on-call inbox above
    uptime = figures["uptime_30d_pct"]
    cols[0].metric("Fleet uptime (30 d)", "no data" if uptime is None else f"{fixed(uptime, 3)} %", border=True)
    budget = figures["budget_left_pct"]
    cols[1].metric("Error budget left", "no data" if budget is None else f"{fixed(budget, 1)} %", border=True)
    burn = figures["burn_rate_1h"]
    cols[2].metric("Burn rate (1 h)", "no data" if burn is None else f"{fixed(burn, 2)}×", border=True)
    st.subheader("Down now")
    if down.empty:
        # not "all clear": burn-rate alerts and spent budgets are the inbox's to say (it sits above)
        st.caption("No target is failing its latest check.")
    else:
        st.error(f"{len(down)} target(s) failing their latest check.", icon=":material/error:")
        st.dataframe(down_table(down, tenant_names(ctx, actor, down["target"])), hide_index=True, width="stretch")
    st.caption(f"Updated {datetime.now(UTC):%H:%M:%S} UTC")
