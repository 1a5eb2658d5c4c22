"""Actions on one tenant, each shown only to roles that may take it and only when the tenant's
status allows it (an archive that stopped half-way can be cancelled by those who may archive).
Destructive ones need a ticked confirmation; suspend and archive requests need a reason. The
services check permissions again and audit every attempt. A pending archive request changes the
admin's Archive form into "approve" (the request's reason shown) beside a Decline form; support
sees the request waiting instead of a second request form (ui/archive_queue.py)."""

from __future__ import annotations

from functools import partial

import streamlit as st

from control_plane.archive import service as archive_service
from control_plane.archive.requests import ArchiveRequestView
from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core.tenant_view import TenantView
from control_plane.domain.lifecycle import Action, Status
from control_plane.services import tenants as tenant_service
from ui.archive_queue import requested_line
from ui.feedback import attempt, flash
from ui.text import plain


def available(actor: Actor, tenant: TenantView) -> bool:
    return any(actor.can(p) for p in (
        Permission.TENANTS_SUSPEND, Permission.TENANTS_RESUME, Permission.TENANTS_CHANGE_PLAN,
        Permission.TENANTS_REQUEST_ARCHIVE, Permission.TENANTS_ARCHIVE, Permission.TENANTS_RESTORE))


def render_actions(ctx: AppContext, actor: Actor, tenant: TenantView,
                   pending: ArchiveRequestView | None = None) -> None:
    forms = []
    status = Status(tenant.status)
    if actor.can(Permission.TENANTS_SUSPEND) and status.can(Action.SUSPEND):
        forms.append(_suspend)
    if actor.can(Permission.TENANTS_RESUME) and status.can(Action.RESUME):
        forms.append(_resume)
    if actor.can(Permission.TENANTS_CHANGE_PLAN) and status.can(Action.CHANGE_PLAN):
        forms.append(_change_plan)
    if status.can(Action.ARCHIVE) and actor.can(Permission.TENANTS_ARCHIVE):
        forms.append(partial(_archive, pending=pending))
        if pending is not None:
            forms.append(partial(_decline_request, pending=pending))
    elif status.can(Action.REQUEST_ARCHIVE) and actor.can(Permission.TENANTS_REQUEST_ARCHIVE) and pending is None:
        forms.append(_request_archive)
    if actor.can(Permission.TENANTS_ARCHIVE) and status.can(Action.CANCEL_ARCHIVE):
        forms.append(_cancel_archive)
    if actor.can(Permission.TENANTS_RESTORE) and status.can(Action.RESTORE):
        forms.append(_restore)
    for form in forms:
        form(ctx, actor, tenant)
    if not forms:
        st.caption(f"No action applies to a tenant that is {tenant.status}.")


def _done(message: str) -> None:
    flash(message)
    st.rerun()


def _suspend(ctx: AppContext, actor: Actor, tenant: TenantView) -> None:
    with st.expander("Suspend", icon=":material/pause_circle:"), st.form(f"suspend_{tenant.slug}"):
        st.caption("The tenant's role loses access to its schema; every row is kept. Resume gives it back.")
        reason = st.text_area("Reason (required, goes to the audit log)", key=f"suspend_reason_{tenant.slug}",
                              height=68)
        reason_msg = st.empty()
        confirm = st.checkbox(f"Yes, suspend {tenant.slug} now", key=f"suspend_confirm_{tenant.slug}")
        confirm_msg = st.empty()
        if st.form_submit_button("Suspend tenant", type="primary"):
            if not reason.strip():
                reason_msg.error("Give a reason: support and the audit log rely on it.")
            elif not confirm:
                confirm_msg.error("Tick the confirmation to suspend.")
            elif attempt("Suspending…", lambda: tenant_service.suspend(ctx, actor, tenant.slug, reason)):
                _done(f"Tenant {tenant.slug} suspended.")


def _resume(ctx: AppContext, actor: Actor, tenant: TenantView) -> None:
    with st.expander("Resume", icon=":material/play_circle:", expanded=True), st.form(f"resume_{tenant.slug}"):
        st.caption(f"Suspended because: {plain(tenant.status_reason or 'no reason recorded')}.")
        note = st.text_input("Note (optional)", key=f"resume_note_{tenant.slug}")
        if st.form_submit_button("Resume tenant", type="primary") and attempt(
                "Resuming…", lambda: tenant_service.resume(ctx, actor, tenant.slug, note.strip() or None)):
            _done(f"Tenant {tenant.slug} resumed.")


def _change_plan(ctx: AppContext, actor: Actor, tenant: TenantView) -> None:
    plans = [p for p in tenant_service.plan_codes(ctx) if p != tenant.plan]
    with st.expander("Change plan", icon=":material/swap_vert:"), st.form(f"plan_{tenant.slug}"):
        new_plan = st.selectbox(f"New plan (now {tenant.plan})", plans, key=f"plan_new_{tenant.slug}")
        reason = st.text_input("Reason (optional)", key=f"plan_reason_{tenant.slug}")
        confirm = st.checkbox("Confirm the plan change (billing follows from today)", key=f"plan_confirm_{tenant.slug}")
        confirm_msg = st.empty()
        if st.form_submit_button("Change plan", type="primary"):
            if not confirm:
                confirm_msg.error("Tick the confirmation to change the plan.")
            elif attempt("Changing plan…",
                         lambda: tenant_service.set_plan(ctx, actor, tenant.slug, new_plan, reason.strip() or None)):
                _done(f"Tenant {tenant.slug} moved from {tenant.plan} to {new_plan}.")


def _request_archive(ctx: AppContext, actor: Actor, tenant: TenantView) -> None:
    with st.expander("Request archive", icon=":material/inventory_2:"), st.form(f"request_archive_{tenant.slug}"):
        st.caption("An admin archives the tenant (dump to S3, verified, then dropped) after reviewing the request.")
        reason = st.text_area("Reason (required)", key=f"archive_reason_{tenant.slug}", height=68)
        reason_msg = st.empty()
        confirm = st.checkbox(f"Yes, request the archive of {tenant.slug}", key=f"archive_confirm_{tenant.slug}")
        confirm_msg = st.empty()
        if st.form_submit_button("Request archive"):
            if not reason.strip():
                reason_msg.error("Give a reason for the archive request.")
            elif not confirm:
                confirm_msg.error("Tick the confirmation to send the request.")
            elif attempt("Sending request…",
                         lambda: archive_service.request_archive(ctx, actor, tenant.slug, reason.strip()),
                         where=confirm_msg):
                _done(f"Archive of {tenant.slug} requested; an admin will review it.")


def _archive(ctx: AppContext, actor: Actor, tenant: TenantView, pending: ArchiveRequestView | None = None) -> None:
    label = "Approve archive request" if pending else "Archive"
    with (st.expander(label, icon=":material/inventory_2:", expanded=pending is not None),
          st.form(f"archive_{tenant.slug}")):
        if pending is not None:
            st.markdown(requested_line(pending))
        st.caption("Dumps the schema to S3, verifies the dump, then drops schema and role. Restore brings it back.")
        typed = st.text_input(f"Type {tenant.slug} to confirm", key=f"archive_typed_{tenant.slug}")
        confirm_msg = st.empty()
        if st.form_submit_button("Approve and archive" if pending else "Archive tenant", type="primary"):
            run = (archive_service.approve_archive_request if pending else archive_service.archive_tenant)
            if typed.strip() != tenant.slug:
                confirm_msg.error(f"Type the slug {tenant.slug} exactly to archive.")
            elif attempt("Archiving (dump, verify, drop)…", lambda: run(ctx, actor, tenant.slug), where=confirm_msg):
                _done(f"Tenant {tenant.slug} archived" + (f"; the request by {pending.requested_by} is approved."
                                                          if pending else "."))


def _decline_request(ctx: AppContext, actor: Actor, tenant: TenantView, pending: ArchiveRequestView) -> None:
    with st.expander("Decline archive request", icon=":material/block:"), st.form(f"decline_archive_{tenant.slug}"):
        st.caption(f"The tenant stays as it is; {plain(pending.requested_by)} sees your reason on this page.")
        reason = st.text_area("Reason (required, shown to the requester)", key=f"decline_reason_{tenant.slug}",
                              height=68)
        reason_msg = st.empty()
        if st.form_submit_button("Decline request"):
            if not reason.strip():
                reason_msg.error("Give a reason: the person who asked reads it.")
            elif attempt("Declining…", lambda: archive_service.decline_archive_request(
                    ctx, actor, tenant.slug, reason.strip()), where=reason_msg):
                _done(f"Archive request for {tenant.slug} declined; {pending.requested_by} sees your reason.")


def _cancel_archive(ctx: AppContext, actor: Actor, tenant: TenantView) -> None:
    """An archive that stopped half-way (S3 down, a crash) leaves the tenant archiving, without
    access to its schema; while the schema still exists, this puts it back as it was."""
    with (st.expander("Cancel archive", icon=":material/undo:", expanded=True),
          st.form(f"cancel_archive_{tenant.slug}")):
        st.caption("The archive did not finish. Cancelling gives the tenant back the status and access it had "
                   "before (active or suspended) while its schema still exists; objects already in S3 are left "
                   "to the archive purge.")
        confirm = st.checkbox(f"Yes, cancel the archive of {tenant.slug}", key=f"cancel_archive_confirm_{tenant.slug}")
        confirm_msg = st.empty()
        if st.form_submit_button("Cancel archive", type="primary"):
            result: list[TenantView] = []  # attempt() tells success; the service's answer says the new status
            if not confirm:
                confirm_msg.error("Tick the confirmation to cancel the archive.")
            elif attempt("Cancelling the archive…",
                         lambda: result.append(archive_service.cancel_archive(ctx, actor, tenant.slug)),
                         where=confirm_msg):
                _done(f"Archive of {tenant.slug} cancelled: the tenant is {result[0].status} again.")


def _restore(ctx: AppContext, actor: Actor, tenant: TenantView) -> None:
    with st.expander("Restore", icon=":material/unarchive:", expanded=True), st.form(f"restore_{tenant.slug}"):
        confirm = st.checkbox(f"Yes, restore {tenant.slug} from its archive", key=f"restore_confirm_{tenant.slug}")
        confirm_msg = st.empty()
        if st.form_submit_button("Restore tenant", type="primary"):
            if not confirm:
                confirm_msg.error("Tick the confirmation to restore.")
            elif attempt("Restoring from the archive…",
                         lambda: archive_service.restore_tenant(ctx, actor, tenant.slug), where=confirm_msg):
                _done(f"Tenant {tenant.slug} restored.")
