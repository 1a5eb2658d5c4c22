"""One tenant: status, plan, schema, cluster, its archive request (pending, or the latest outcome),
usage sparklines, recent health, full audit trail, and the actions the role may take. Name, owner,
endpoint and reasons were typed by people, and the slug comes from the link: all shown as text
(ui/text.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from control_plane.archive import requests as archive_requests
from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.core import audit_queries
from control_plane.errors import ControlPlaneError, NotFound
from control_plane.services import tenants as tenant_service
from control_plane.uptime import summary as uptime_summary
from control_plane.usage import queries as usage_queries
from ui.archive_queue import pending_of, render_tenant_requests
from ui.feedback import csv_download, show_error
from ui.formatting import byte_scale, when
from ui.tenant_actions import available, render_actions
from ui.tenant_move import OPEN_PARAM, render_moves
from ui.text import plain

STATUS_COLOURS = {"active": "green", "suspended": "orange", "provisioning": "blue", "archiving": "violet",
                  "archived": "gray", "purged": "red"}


def close_tenant() -> None:
    st.query_params.pop("tenant", None)
    st.query_params.pop(OPEN_PARAM, None)


def render_detail(ctx: AppContext, actor: Actor, slug: str) -> None:
    st.button("All tenants", icon=":material/arrow_back:", on_click=close_tenant, key="back_to_list",
              type="tertiary")
    try:
        tenant = tenant_service.show(ctx, actor, slug)
    except NotFound:
        st.error(f"No tenant {plain(repr(slug))}: it may have been purged, or the link has a typo.")
        return
    except ControlPlaneError as exc:
        show_error(exc)
        return
    st.title(plain(tenant.name))
    badges = f":{STATUS_COLOURS.get(tenant.status, 'gray')}-badge[{tenant.status}] `{tenant.slug}`"
    st.markdown(badges + (" :orange-badge[demo data]" if tenant.is_demo else ""))
    if tenant.status == "suspended":
        st.warning(f"Suspended: {plain(tenant.status_reason or 'no reason recorded')}", icon=":material/pause_circle:")
    requests = archive_requests.requests_for_tenant(ctx, actor, tenant.slug)
    render_tenant_requests(actor, requests)

    cols = st.columns(4)
    cols[0].metric("Status", plain(tenant.status), border=True)  # metric values render Markdown too
    cols[1].metric("Plan", plain(tenant.plan), border=True)
    cols[2].metric("Cluster", plain(tenant.cluster), border=True)
    cols[3].metric("Created", when(tenant.created_at), border=True)

    main, side = st.columns([2, 1], gap="large") if available(actor, tenant) else (st.container(), None)
    with main:
        st.markdown(
            f"**Schema** `{tenant.schema}` · **Role** `{tenant.role}` · **Template** v{tenant.template_version or '–'}"
            f"  \n**Owner** {plain(tenant.owner_email or '–')} · **Endpoint** {plain(tenant.endpoint_url or '–')}"
            f"  \n**Updated** {when(tenant.updated_at)}")
        _usage(ctx, actor, tenant.slug)
        _health(ctx, actor, tenant.slug)
    if side is not None:
        with side:
            st.subheader("Actions")
            render_actions(ctx, actor, tenant, pending_of(requests))
    render_moves(ctx, actor, tenant)
    _audit_trail(ctx, actor, tenant.slug)


def _usage(ctx: AppContext, actor: Actor, slug: str) -> None:
    st.subheader("Usage, last 90 days")
    try:
        usage = usage_queries.tenant_daily_usage(ctx, actor, slug, days=90)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    if usage.empty:
        st.info("No usage recorded yet: the usage roll-up job fills this in daily.", icon=":material/bar_chart:")
        return
    usage = usage.sort_values("day")
    storage = pd.to_numeric(usage["storage_bytes"], errors="coerce").astype(float)
    divisor, storage_unit = byte_scale(storage.max() if storage.notna().any() else 0)
    cols = st.columns(3)
    for col, (column, label, scale, unit, places) in zip(cols, [
            ("requests", "Requests / day", 1, "", 0),
            ("storage_bytes", "Storage", 1 / divisor, f" {storage_unit}", 1),
            ("p95_latency_ms", "p95 latency", 1, " ms", 0)], strict=True):
        series = pd.to_numeric(usage[column], errors="coerce").astype(float) * scale
        series = series.dropna()
        if series.empty:
            col.metric(label, "–", border=True)
            continue
        last = series.iloc[-1]
        delta = last - series.iloc[-2] if len(series) > 1 else None
        col.metric(label, f"{last:,.{places}f}{unit}", None if delta is None else f"{delta:+,.{places}f}{unit}",
                   delta_color="inverse" if column == "p95_latency_ms" else "normal",
                   chart_data=series.tolist(), chart_type="area", border=True)


def _health(ctx: AppContext, actor: Actor, slug: str) -> None:
    st.subheader("Recent health")
    try:
        checks = uptime_summary.tenant_recent_checks(ctx, actor, slug, limit=50)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    if checks.empty:
        st.info("No health checks recorded for this tenant yet.", icon=":material/monitor_heart:")
        return
    ok = int(checks["ok"].astype(bool).sum())
    latest = checks.sort_values("checked_at").iloc[-1]
    state = ":green-badge[up]" if bool(latest["ok"]) else ":red-badge[down]"
    st.markdown(f"Latest check {state} at {when(pd.Timestamp(latest['checked_at']).to_pydatetime())} · "
                f"{ok} of {len(checks)} recent checks OK")
    st.dataframe(checks, hide_index=True, height=200, column_config={
        "checked_at": st.column_config.DatetimeColumn("Checked", format="YYYY-MM-DD HH:mm:ss"),
        "ok": st.column_config.CheckboxColumn("OK"), "latency_ms": st.column_config.NumberColumn("Latency ms"),
    })


def _audit_trail(ctx: AppContext, actor: Actor, slug: str) -> None:
    st.subheader("Audit trail")
    try:
        trail = audit_queries.for_tenant(ctx, actor, slug)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    if trail.empty:
        st.info("Nothing recorded for this tenant yet.")
        return
    st.dataframe(trail[["at", "actor", "actor_role", "action", "outcome", "reason", "before", "after"]],
                 hide_index=True, height=260,
                 column_config={"at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm:ss")})
    csv_download(trail, f"audit_{slug}.csv", key=f"audit_csv_{slug}")
