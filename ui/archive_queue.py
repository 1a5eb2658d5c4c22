"""Archive requests on screen: the admin's queue on Overview, the requester's own requests and
their outcomes, and the request banner on a tenant's page. Reasons and names were typed by
people: tables show them as they are (a plain-text sink), Markdown gets them through plain().
Read straight from the catalog, not cached: a request filed a second ago is in the queue."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from control_plane.archive import requests as request_service
from control_plane.archive.requests import ArchiveRequestView
from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from ui.feedback import show_error
from ui.formatting import age, when
from ui.formatting import table as readable
from ui.frames import records_frame, utc
from ui.navigation import link
from ui.text import plain

QUEUE_COLUMNS = ["slug", "tenant_name", "tenant_status", "requested_by", "age", "reason", "requested_at"]
MINE_COLUMNS = ["slug", "requested_at", "reason", "status", "decided_by", "decided_at", "decision_reason"]
TENANTS = "pages/tenants.py"


def render_admin_queue(ctx: AppContext, actor: Actor) -> None:
    """Overview, for those who may archive: every pending request, oldest first, each a link to
    the tenant's page where it is approved or declined."""
    st.subheader("Waiting for you: archive requests")
    try:
        pending = request_service.pending_archive_requests(ctx, actor)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    if not pending:
        st.caption("No archive request is waiting for a decision.")
        return
    now = datetime.now(UTC)
    st.metric("Archive requests waiting", f"{len(pending):,}", border=True,
              help="Filed by support; approve (runs the archive) or decline with a reason on the tenant's page.")
    frame = records_frame(pending, [c for c in QUEUE_COLUMNS if c != "age"])
    frame["requested_at"] = utc(frame["requested_at"])
    frame.insert(4, "age", [age(r.requested_at, now) for r in pending])
    st.dataframe(readable(frame[QUEUE_COLUMNS], labels={
        "slug": "Tenant", "tenant_name": "Name", "tenant_status": "Status", "age": "Waiting",
        "requested_at": "Requested"}), hide_index=True, key="archive_queue")
    for request in pending:
        link(actor, TENANTS, f"Review the request for {request.slug}", {"tenant": request.slug},
             icon=":material/gavel:")


def render_my_requests(ctx: AppContext, actor: Actor) -> None:
    """Overview, for those who may only ask: what they asked for and what became of it."""
    try:
        mine = request_service.requests_by(ctx, actor, actor.name)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    if not mine:
        return
    st.subheader("Your archive requests")
    frame = records_frame(mine, MINE_COLUMNS)
    frame["requested_at"], frame["decided_at"] = utc(frame["requested_at"]), utc(frame["decided_at"])
    st.dataframe(readable(frame, labels={
        "slug": "Tenant", "reason": "Your reason", "status": "Outcome", "requested_at": "Requested",
        "decision_reason": "Why (when declined)", "decided_at": "Decided"}), hide_index=True,
        key="my_archive_requests")


def pending_of(requests: list[ArchiveRequestView]) -> ArchiveRequestView | None:
    return next((r for r in requests if r.status == request_service.PENDING), None)


def requested_line(request: ArchiveRequestView) -> str:
    """Markdown: who asked, how long ago, and why (typed text escaped)."""
    return (f"Archive requested by **{plain(request.requested_by)}** {age(request.requested_at, datetime.now(UTC))} "
            f"ago ({when(request.requested_at)}): {plain(request.reason)}")


def outcome_line(request: ArchiveRequestView) -> str:
    """Markdown: what an admin decided about a request, by whom, when and why."""
    asked = f"Archive request by {plain(request.requested_by)} ({plain(request.reason)})"
    if request.status == request_service.APPROVED:
        return f"{asked} was **approved** by {plain(request.decided_by)} on {when(request.decided_at)}: archived."
    return (f"{asked} was **declined** by {plain(request.decided_by)} on {when(request.decided_at)}: "
            f"{plain(request.decision_reason)}")


def render_tenant_requests(actor: Actor, requests: list[ArchiveRequestView]) -> None:
    """The tenant's page: the pending request (everyone sees it is waiting), else the latest outcome."""
    if not requests:
        return
    pending = pending_of(requests)
    if pending is not None:
        waiting = "" if actor.can(Permission.TENANTS_ARCHIVE) else " Waiting for an admin to approve or decline."
        st.warning(requested_line(pending) + waiting, icon=":material/inventory_2:")
        return
    latest = requests[0]
    if latest.status == request_service.DECLINED:
        st.info(outcome_line(latest), icon=":material/block:")
    else:
        st.success(outcome_line(latest), icon=":material/check_circle:")
