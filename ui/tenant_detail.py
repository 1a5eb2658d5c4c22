"""One tenant's whole story (docs/tenant-page.md "Tenant page"): status, plan and billing, usage against
the plan, this month's uptime and incidents, noisy-neighbour flag, archive, moves, notes, the audit
trail, its archive request (pending, or the latest outcome) and the actions the role may take. The
figures come from one service call (services/tenant_story.py). Name, owner, endpoint, notes and
reasons were typed by people, and the slug comes from the link: all shown as text (ui/text.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from control_plane.archive import requests as archive_requests
from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError, NotFound
from control_plane.services import tenant_story
from control_plane.services.tenant_story import TenantStory
from control_plane.uptime import summary as uptime_summary
from control_plane.uptime.figures import fixed
from ui.archive_queue import pending_of, render_tenant_requests
from ui.feedback import show_error
from ui.formatting import cents, utc_time
from ui.tenant_actions import available, render_actions
from ui.tenant_move import OPEN_PARAM, render_moves
from ui.tenant_record import render_archive, render_audit, render_notes
from ui.tenant_story import render_billing, render_month, render_noisy, render_usage
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
        story = tenant_story.story(ctx, actor, slug, now=ctx.clock())
    except NotFound:
        st.error(f"No tenant {plain(repr(slug))}: it may have been purged, or the link has a typo.")
        return
    except ControlPlaneError as exc:
        show_error(exc)
        return
    tenant = story.tenant
    st.title(plain(tenant.name))
    badges = f":{STATUS_COLOURS.get(tenant.status, 'gray')}-badge[{tenant.status}] `{tenant.slug}`"
    if story.open_noisy:
        badges += " :orange-badge[noisy neighbour]"
    st.markdown(badges + (" :orange-badge[demo data]" if tenant.is_demo else ""))
    if tenant.status == "suspended":
        st.warning(f"Suspended: {plain(tenant.status_reason or 'no reason recorded')}", icon=":material/pause_circle:")
    if tenant.status == "purged":
        st.info("Purged: its archive was deleted from S3 and it can no longer be restored.",
                icon=":material/delete_forever:")
    elif story.is_archived and story.archive is not None:
        st.info(f"Archived {utc_time(story.archive.archived_at)}: its data is in S3 until "
                f"{utc_time(story.archive.purge_after)}, and it is no longer checked.", icon=":material/inventory_2:")
    requests = archive_requests.requests_for_tenant(ctx, actor, tenant.slug)
    render_tenant_requests(actor, requests)

    cols = st.columns(4)
    cols[0].metric("Status", plain(tenant.status), border=True)  # metric values render Markdown too
    cols[1].metric("Plan", plain(tenant.plan), border=True)
    cols[2].metric("Cluster", plain(tenant.cluster), border=True)
    cols[3].metric("MRR now" if story.billing is not None else "Uptime this month", _headline(story), border=True)

    main, side = st.columns([2, 1], gap="large") if available(actor, tenant) else (st.container(), None)
    with main:
        st.markdown(
            f"**Schema** `{tenant.schema}` · **Role** `{tenant.role}` · **Template** v{tenant.template_version or '–'}"
            f"  \n**Owner** {plain(tenant.owner_email or '–')} · **Endpoint** {plain(tenant.endpoint_url or '–')}"
            f"  \n**Created** {utc_time(tenant.created_at)} · **Updated** {utc_time(tenant.updated_at)}")
        render_noisy(story)
    if side is not None:
        with side:
            st.subheader("Actions")
            render_actions(ctx, actor, tenant, pending_of(requests))
    # The story's sections take the whole width: their figures were cut off ("$20…") beside the actions.
    render_billing(story)
    render_usage(story)
    render_month(story)
    _health(ctx, actor, story)
    render_archive(story)
    render_moves(ctx, actor, tenant)
    render_notes(ctx, actor, story)
    render_audit(story)


def _headline(story: TenantStory) -> str:
    if story.billing is not None:
        return cents(story.billing.mrr_cents)
    return "no checks" if story.month.uptime is None else f"{fixed(story.month.uptime, 3)} %"


def _health(ctx: AppContext, actor: Actor, story: TenantStory) -> None:
    st.subheader("Recent health checks")
    try:
        checks = uptime_summary.tenant_recent_checks(ctx, actor, story.tenant.slug, limit=50)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    if checks.empty:
        st.info("No health checks recorded for this tenant yet.", icon=":material/monitor_heart:")
        return
    ok = int(checks["ok"].astype(bool).sum())
    latest = checks.sort_values("checked_at").iloc[-1]
    at = utc_time(pd.Timestamp(latest["checked_at"]).to_pydatetime())
    if story.is_archived or story.tenant.status == "archiving":
        # Its schema is gone or going: the last check says nothing about now.
        st.markdown(f"Not checked while {story.tenant.status}; the last check ran at {at} · "
                    f"{ok} of {len(checks)} checks before that OK")
    else:
        state = ":green-badge[up]" if bool(latest["ok"]) else ":red-badge[down]"
        st.markdown(f"Latest check {state} at {at} · {ok} of {len(checks)} recent checks OK")
    checks["error"] = checks["error"].fillna("")  # a check without an error, not the word "None"
    st.dataframe(checks, hide_index=True, column_config={
        "target": st.column_config.TextColumn("Check"),
        "checked_at": st.column_config.DatetimeColumn("Checked (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "ok": st.column_config.CheckboxColumn("OK"), "latency_ms": st.column_config.NumberColumn("Latency ms"),
        "error": st.column_config.TextColumn("Error"),
    })
