"""The tenant list: search as you type, filters bound to the URL, sortable table, CSV export.

Search and filters live in a fragment, so typing reruns only the list, not the whole page; the
fragment checks the session itself on every run (ui/fragments.py).
"""

from __future__ import annotations

import streamlit as st

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.domain.lifecycle import Status
from control_plane.errors import ControlPlaneError
from control_plane.services import tenants as tenant_service
from ui.feedback import csv_download, show_error
from ui.formatting import table as readable
from ui.fragments import guarded_fragment
from ui.frames import records_frame, utc

COLUMNS = ["slug", "name", "status", "plan", "cluster", "owner_email", "created_at", "status_reason", "is_demo"]
_TABLE_GENERATION = "tenant_table_generation"


def open_tenant(slug: str) -> None:
    st.query_params["tenant"] = slug
    # A fresh table key next time, so the row selected now does not reopen this tenant on return.
    st.session_state[_TABLE_GENERATION] = st.session_state.get(_TABLE_GENERATION, 0) + 1


def _picked() -> None:
    slug = st.session_state.get("open_tenant")
    st.session_state["open_tenant"] = None
    if slug:
        open_tenant(slug)


@guarded_fragment(Permission.TENANTS_READ)
def render_list(ctx: AppContext, *, actor: Actor) -> None:
    if st.query_params.get("tenant"):  # a pick in this fragment opened a tenant: show the whole page
        st.rerun(scope="app")
    search_col, status_col, plan_col, cluster_col = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
    search = search_col.text_input("Search", key="q", type="search", live="50ms", bind="query-params",
                                   placeholder="slug, name or owner e-mail — results update as you type")
    status = status_col.selectbox("Status", [s.value for s in Status], index=None, placeholder="Any status",
                                  key="status", bind="query-params")
    plan = plan_col.selectbox("Plan", tenant_service.plan_codes(ctx), index=None, placeholder="Any plan",
                              key="plan", bind="query-params")
    cluster = cluster_col.selectbox("Cluster", tenant_service.cluster_names(ctx), index=None,
                                    placeholder="Any cluster", key="cluster", bind="query-params")
    try:
        rows = tenant_service.list_tenants(ctx, actor, status=status, plan=plan, cluster=cluster, search=search)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    frame = records_frame(rows, COLUMNS)
    frame["created_at"] = utc(frame["created_at"])
    filtered = bool(search or status or plan or cluster)
    if frame.empty:
        if filtered:
            st.info("No tenant matches these filters. Clear the search or pick another status, plan or cluster.",
                    icon=":material/search_off:")
        else:
            st.info("No tenants yet. Provision the first one above.", icon=":material/apartment:")
        return
    st.caption(f"{len(frame):,} tenant{'s' if len(frame) != 1 else ''}"
               + (" match" if filtered else "") + " · click a row to open it · click a column header to sort")
    event = st.dataframe(
        readable(frame, labels={"created_at": "Created (UTC)"}), hide_index=True, on_select="rerun",
        selection_mode="single-row", height=420, key=f"tenant_table_{st.session_state.get(_TABLE_GENERATION, 0)}",
        column_config={"Slug": st.column_config.TextColumn("Slug", pinned=True)},
    )
    if event.selection.rows:
        open_tenant(str(frame.iloc[event.selection.rows[0]]["slug"]))
        st.rerun(scope="app")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.selectbox("Open a tenant", frame["slug"].tolist(), index=None, key="open_tenant",
                   placeholder="Pick a slug to open its page", on_change=_picked)
    with right:
        csv_download(frame, "tenants.csv", key="tenants_csv")
