"""The tenant list: search as you type, filters bound to the URL, one page of the sorted table at a
time (the database filters, counts and pages: the fleet is never loaded whole), CSV export of every
match built on the click (docs/lifecycle.md "Listing tenants at fleet scale").

Search and filters live in a fragment, so typing reruns only the list, not the whole page; the
fragment checks the session itself on every run (ui/fragments.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

import streamlit as st

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.domain.lifecycle import Status
from control_plane.errors import ControlPlaneError
from control_plane.services import tenant_export
from control_plane.services import tenants as tenant_service
from ui.feedback import csv_download_built, show_error
from ui.formatting import table as readable
from ui.fragments import guarded_fragment
from ui.frames import records_frame, utc

COLUMNS = ["slug", "name", "status", "plan", "cluster", "owner_email", "created_at", "status_reason", "is_demo"]
_TABLE_GENERATION = "tenant_table_generation"
_PAGE, _FILTERS = "tenant_page", "tenant_page_filters"
PAGE_SIZE = 50  # rows per page: the fleet (20,000 tenants, issue 19) is read a page at a time


def open_tenant(slug: str) -> None:
    st.query_params["tenant"] = slug
    # A fresh table key next time, so the row selected now does not reopen this tenant on return.
    st.session_state[_TABLE_GENERATION] = st.session_state.get(_TABLE_GENERATION, 0) + 1


def _picked() -> None:
    slug = st.session_state.get("open_tenant")
    st.session_state["open_tenant"] = None
    if slug:
        open_tenant(slug)


def _turn(step: int) -> None:
    st.session_state[_PAGE] = max(1, int(st.session_state.get(_PAGE) or 1) + step)


def _csv(ctx: AppContext, actor: Actor, filters: dict) -> Callable[[], IO[bytes]]:
    """Built on the click only (a callable), from the database's cursor, whatever the fleet's size."""
    return lambda: tenant_export.tenants_csv(ctx, actor, **filters)


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
    filters = {"status": status, "plan": plan, "cluster": cluster, "search": search}
    if st.session_state.get(_FILTERS) != filters:  # other filters: back to the first page
        st.session_state[_FILTERS] = filters
        st.session_state[_PAGE] = 1
    try:
        page = tenant_service.tenant_page(ctx, actor, page=int(st.session_state.get(_PAGE) or 1),
                                          page_size=PAGE_SIZE, **filters)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    filtered = bool(search or status or plan or cluster)
    if not page.total:
        if filtered:
            st.info("No tenant matches these filters. Clear the search or pick another status, plan or cluster.",
                    icon=":material/search_off:")
        else:
            st.info("No tenants yet. Provision the first one above.", icon=":material/apartment:")
        return
    frame = records_frame(page.tenants, COLUMNS)
    frame["created_at"] = utc(frame["created_at"])
    pages = -(-page.total // PAGE_SIZE)
    st.session_state[_PAGE] = page.offset // PAGE_SIZE + 1  # a page past the end showed the last one
    st.caption(f"{page.total:,} tenant{'s' if page.total != 1 else ''}" + (" match" if filtered else "")
               + f" · {page.offset + 1:,}–{page.offset + len(page.tenants):,} shown"
               + " · click a row to open it · click a column header to sort this page")
    event = st.dataframe(
        readable(frame, labels={"created_at": "Created (UTC)"}), hide_index=True, on_select="rerun",
        selection_mode="single-row", height=420, key=f"tenant_table_{st.session_state.get(_TABLE_GENERATION, 0)}",
        column_config={"Slug": st.column_config.TextColumn("Slug", pinned=True)},
    )
    if event.selection.rows:
        open_tenant(str(frame.iloc[event.selection.rows[0]]["slug"]))
        st.rerun(scope="app")
    current = st.session_state[_PAGE]
    back, number, forward, _, download = st.columns([1, 1, 1, 2, 2], vertical_alignment="bottom")
    back.button("Previous", key="tenant_page_back", icon=":material/chevron_left:", disabled=current <= 1,
                on_click=_turn, args=(-1,))
    number.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key=_PAGE)
    forward.button("Next", key="tenant_page_next", icon=":material/chevron_right:", disabled=current >= pages,
                   on_click=_turn, args=(1,))
    with download:
        csv_download_built(_csv(ctx, actor, filters), "tenants.csv", "tenants_csv",
                           help="Every tenant matching the filters, not only this page")
    st.selectbox("Open a tenant", frame["slug"].tolist(), index=None, key="open_tenant",
                 placeholder="Pick a slug on this page to open it", on_change=_picked)
