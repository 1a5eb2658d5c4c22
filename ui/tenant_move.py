"""A tenant's cluster moves on its page (docs/moves.md): admins pick a target from the clusters
with their tenants, storage and capacity, see whether the move can run online (or what is missing,
with the offline option), type the slug to confirm and start it; the move runs in a thread of the
app. While it runs, its progress refreshes by itself, with "Cancel move" (confirmed) before the
cut-over and "Resume" when no process drives it. Every role that reads tenants sees the status and
the history; the services check the permission again and audit every action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core.tenant_view import TenantView
from control_plane.domain.lifecycle import Action, Status
from control_plane.errors import ControlPlaneError
from control_plane.moves import driver as move_driver
from control_plane.moves import service as move_service
from control_plane.moves.ledger import MoveView
from control_plane.moves.plan import CUTOVER, LABELS, steps_of
from control_plane.moves.service import MoveOptions
from control_plane.moves.states import MoveAction, MoveStatus
from ui import cached_reads as reads
from ui.cluster_load import table as load_table
from ui.feedback import attempt, csv_download, flash, show_error
from ui.formatting import when
from ui.fragments import guarded_fragment
from ui.text import plain

REFRESH_S = 2  # progress refresh while a move runs
CANCEL_WAIT_S = 5.0  # a running driver undoes the move itself; the page shows the rest as it happens
ENDED_NEWS = timedelta(days=1)  # how long the page announces how the latest move ended
OPEN_PARAM = "move"  # ?tenant=SLUG&move=1 opens the move form (the noisy-neighbour flag links here)


def step_label(step: str) -> str:
    return LABELS.get(step, step)


def render_moves(ctx: AppContext, actor: Actor, tenant: TenantView) -> None:
    st.subheader("Cluster moves", anchor="cluster-moves")
    try:
        latest = move_service.current(ctx, actor, tenant.slug)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    if latest is not None and latest.can(MoveAction.DRIVE):
        move_progress(ctx, tenant.slug, latest.id)
    else:
        _ended_lately(latest, ctx.clock())
        may_move = actor.can(Permission.TENANTS_MOVE)
        if may_move and Status(tenant.status).can(Action.MOVE):
            _move_form(ctx, actor, tenant, opened=st.query_params.get(OPEN_PARAM) == "1")
        elif may_move:
            st.caption(f"A tenant that is {tenant.status} cannot move; only active or suspended tenants do.")
    _history(ctx, actor, tenant.slug)


# --- start ---------------------------------------------------------------------------------


def _move_form(ctx: AppContext, actor: Actor, tenant: TenantView, *, opened: bool) -> None:
    slug = tenant.slug
    with st.expander("Move to another cluster", icon=":material/move_down:", expanded=opened):
        try:
            load = reads.cluster_load(ctx, actor)
        except ControlPlaneError as exc:
            show_error(exc)
            return
        others = load[load["cluster"] != tenant.cluster]
        if others.empty:
            st.info("No other cluster is registered. Register one with `python -m control_plane clusters add NAME "
                    "--url-env CP_CLUSTER_URL_NAME`.", icon=":material/dns:")
            return
        if ctx.settings.demo and (local := _demo_cluster_name()) in set(others["cluster"]):
            st.caption(f":orange-badge[Demo mode] {local} is a second local PostgreSQL server with "
                       "logical replication on: a demo tenant moves there online.")
        st.caption(f"Now on {plain(tenant.cluster)}. Clusters it can move to:")
        st.dataframe(load_table(others), hide_index=True, width="stretch")
        target = st.selectbox("Target cluster", list(others["cluster"]), index=None, placeholder="Pick a cluster",
                              key=f"move_target_{slug}")
        if target is None:
            return
        try:
            ready = reads.move_readiness(ctx, actor, slug, target)
        except ControlPlaneError as exc:
            show_error(exc)
            return
        if ready.online:
            st.success("Online move possible: the tenant keeps working; its writes are blocked only for the short "
                       "cut-over.", icon=":material/check_circle:")
        else:
            st.warning(f"An online move is not possible: {plain(ready.explanation)}. An offline move blocks the "
                       "tenant's writes for the whole copy.", icon=":material/warning:")
        with st.form(f"move_{slug}"):
            if ready.online:
                offline = st.checkbox("Move offline instead (writes blocked for the whole copy)",
                                      key=f"move_offline_{slug}")
            else:
                offline = st.checkbox("Move offline, with the tenant's writes blocked for the whole copy",
                                      key=f"move_offline_{slug}")
            typed = st.text_input(f"Type {slug} to confirm", key=f"move_typed_{slug}")
            confirm_msg = st.empty()
            if st.form_submit_button("Start move", type="primary"):
                started: list[MoveView] = []
                if typed.strip() != slug:
                    confirm_msg.error(f"Type the slug {slug} exactly to move it.")
                elif not ready.online and not offline:
                    confirm_msg.error("This move can only run offline: tick the offline option, or fix what is "
                                      "missing above first.")
                elif attempt("Checking both clusters and recording the move…",
                             lambda: started.append(move_service.start_in_background(
                                 ctx, actor, slug, target, MoveOptions(offline=offline))), where=confirm_msg):
                    reads.clear_clusters()
                    st.query_params.pop(OPEN_PARAM, None)
                    flash(f"Move #{started[0].id} of {slug} to {target} started ({started[0].mode}).")
                    st.rerun()


# --- while it runs -------------------------------------------------------------------------


@guarded_fragment(Permission.TENANTS_READ, run_every=REFRESH_S)
def move_progress(ctx: AppContext, slug: str, move_id: int, *, actor: Actor) -> None:
    try:
        move = move_service.current(ctx, actor, slug)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    if move is None or move.id != move_id or not move.can(MoveAction.DRIVE):
        reads.clear_clusters()
        st.rerun(scope="app")  # it ended: the whole page again (cluster, actions, history)
    done, total = move.progress
    upcoming = steps_of(move.mode)[done] if done < total else move.step
    st.markdown(f"**Move #{move.id}** to cluster **{plain(move.target)}** ({move.mode}), from "
                f"{plain(move.source)}, started {when(move.created_at)} by {plain(move.created_by)}")
    st.progress(done / total, text=f"{done} of {total} steps done · now: {step_label(upcoming)}")
    order = steps_of(move.mode)
    blocked_now = order.index("writes_blocked") <= order.index(move.step) < order.index(CUTOVER) \
        if move.step in order else False
    if move.writes_blocked_ms is not None:
        st.caption(f"Writes were blocked for {move.writes_blocked_ms:,} ms.")
    elif blocked_now:
        st.caption("The tenant's writes are blocked now (cut-over).")
    if move.cancel_requested:
        st.info("Cancel requested: the move is being undone; the tenant stays where it was.", icon=":material/undo:")
    if move.error:
        st.warning(f"Stopped: {plain(move.error)}", icon=":material/warning:")
    driven = move_driver.is_driven(ctx, actor, move.id)
    if not driven:
        st.warning("No process is driving this move (the app or the command that ran it stopped). Resume it "
                   "from its last step, or cancel it.", icon=":material/pause_circle:")
    if move.steps:
        st.dataframe(pd.DataFrame([{"step": step_label(s.get("step", "")), "at": s.get("at"), "ms": s.get("ms")}
                                   for s in move.steps]), hide_index=True, width="stretch")
    if actor.can(Permission.TENANTS_MOVE):
        _controls(ctx, actor, move, driven)


def _controls(ctx: AppContext, actor: Actor, move: MoveView, driven: bool) -> None:
    slug = move.tenant
    resume_key = f"move_resume_{slug}"
    # Drawn again on the run its click causes even if a process took the move on meanwhile, so
    # the service's refusal is shown rather than the click silently dropped.
    offered = not driven or st.session_state.get(resume_key, False)
    if offered and st.button("Resume move", key=resume_key, icon=":material/play_arrow:") and attempt(
            "Resuming…", lambda: move_driver.resume(ctx, actor, move)):
        flash(f"Move #{move.id} of {slug} resumed from its last step.")
        st.rerun(scope="app")
    if not move.can(MoveAction.CANCEL) or move.cancel_requested:
        return
    confirm = st.checkbox(f"Yes, cancel the move of {slug}: everything it made is dropped and the source stays "
                          "exactly as it was", key=f"move_cancel_confirm_{slug}")
    confirm_msg = st.empty()
    if st.button("Cancel move", key=f"move_cancel_{slug}", icon=":material/cancel:"):
        ended: list[MoveView] = []
        if not confirm:
            confirm_msg.error("Tick the confirmation to cancel the move.")
        elif attempt("Cancelling the move…",
                     lambda: ended.append(move_service.cancel(ctx, actor, slug, wait_s=CANCEL_WAIT_S)),
                     where=confirm_msg):
            reads.clear_clusters()
            flash(f"Move #{move.id} of {slug} cancelled: the tenant stays on {move.source}."
                  if ended[0].status == MoveStatus.CANCELLED else
                  f"Cancel of move #{move.id} requested: the move is being undone.")
            st.rerun(scope="app")


def _ended_lately(latest: MoveView | None, now: datetime) -> None:
    """Say how the latest move ended while it is news (a day), above the history that records it."""
    if latest is None or latest.finished_at is None or now - latest.finished_at > ENDED_NEWS:
        return
    when = latest.finished_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if latest.status == "completed":
        blocked = f"; writes were blocked {latest.writes_blocked_ms:,} ms" if latest.writes_blocked_ms is not None \
            else ""
        st.success(f"Move #{latest.id} completed at {when}: the tenant now runs on cluster {plain(latest.target)} "
                   f"({latest.mode}{blocked}).", icon=":material/check_circle:")
    elif latest.status == "cancelled":
        st.info(f"Move #{latest.id} was cancelled at {when}: the tenant stays on cluster {plain(latest.source)}.",
                icon=":material/undo:")
    else:
        st.error(f"Move #{latest.id} {plain(latest.status)} at {when}: the tenant stays on cluster "
                 f"{plain(latest.source)}. {plain(latest.error or '')}", icon=":material/error:")


# --- history -------------------------------------------------------------------------------


def _history(ctx: AppContext, actor: Actor, slug: str) -> None:
    try:
        moves = move_service.history(ctx, actor, slug)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    if not moves:
        st.caption("This tenant has never moved between clusters.")
        return
    frame = history_frame(moves)
    st.markdown("**Move history**")
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "started": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm:ss"),
        "finished": st.column_config.DatetimeColumn("Finished", format="YYYY-MM-DD HH:mm:ss")})
    csv_download(frame, f"moves_{slug}.csv", key=f"moves_csv_{slug}")


def history_frame(moves: list[MoveView]) -> pd.DataFrame:
    return pd.DataFrame([{
        "move": m.id, "started": m.created_at, "from": m.source, "to": m.target, "mode": m.mode,
        "status": m.status, "steps": "{} / {}".format(*m.progress), "last step": m.step,
        "writes blocked ms": m.writes_blocked_ms, "by": m.created_by, "finished": m.finished_at,
        "kept as": m.retained_schema, "error": m.error} for m in moves])


def _demo_cluster_name() -> str:
    from control_plane.demo import local_cluster  # demo mode only: not in the production image

    return local_cluster.NAME
