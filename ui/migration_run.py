"""The live part of the Migrations page: the fleet's versions (table and chart), the current run's
header, waves and soak, the health verdicts, per-tenant results (filter, CSV) and, for those who
may act, halt / resume / roll back behind a confirmation (docs/migrations.md "The Migrations
page"). One fragment that refreshes every 5 s, with the signed-in account checked again on every
refresh (ui/fragments.py): the counts and the run's status are read in the same refresh, so they
agree during and after a run without a reload. The start message stays while its run is under
way; the confirmation is unticked after each action."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from control_plane.fleet import service as fleet
from control_plane.fleet.states import RunAction, RunStatus
from ui.feedback import csv_download, show_error
from ui.formatting import table as readable
from ui.formatting import utc_time
from ui.fragments import guarded_fragment
from ui.migration_start import STARTED
from ui.migration_tables import RESULT_FILTERS, decisions_frame, progress_frame, results_frame, results_shown
from ui.migration_versions import render_versions
from ui.text import plain

_UNTICK = "migrations_untick_controls"


@guarded_fragment(Permission.MIGRATIONS_READ, run_every=timedelta(seconds=5))
def current_run(ctx: AppContext, *, actor: Actor) -> None:
    render_versions(ctx, actor)
    run = fleet.status(ctx, actor)
    if run is None:
        st.info("No migration run yet.")
        return
    st.subheader(f"Run {run.id}: {run.status} → v{run.target_version}")
    _started_message(run)
    soaking = RunStatus(run.status) is RunStatus.SOAKING and run.soak_until
    soak = f", soaking until {utc_time(run.soak_until)}" if soaking else ""
    st.caption(f"Waves {', '.join(f'{w}%' for w in run.waves)}; wave {run.current_wave}{soak}; "
               f"started by {plain(run.created_by)}")
    if run.halt_reason:
        st.error(plain(run.halt_reason), icon=":material/pause_circle:")
    st.dataframe(readable(progress_frame(run.progress)), hide_index=True, width="stretch")
    if run.decisions:
        st.dataframe(readable(decisions_frame(run.decisions)), hide_index=True, width="stretch")
    shown = st.selectbox("Results", RESULT_FILTERS, key="migrations_result_filter")
    results = results_frame(run.results or [], shown)
    st.dataframe(results_shown(results), hide_index=True, width="stretch")
    csv_download(results, f"migration-run-{run.id}.csv", key="migrations_csv")
    if actor.can(Permission.MIGRATIONS_RUN):
        _controls(ctx, actor, run)


def _started_message(run: fleet.RunReport) -> None:
    """The message of a run started from this session, while that run is under way."""
    started = st.session_state.get(STARTED)
    if not started:
        return
    if started["run"] == run.id and RunStatus(run.status).active:
        st.success(plain(started["message"]), icon=":material/check_circle:")
    else:
        st.session_state.pop(STARTED, None)


def _acted() -> None:
    """After halt, resume or roll back: the confirmation is unticked for the next action."""
    st.session_state[_UNTICK] = True
    st.rerun()


def _controls(ctx: AppContext, actor: Actor, run: fleet.RunReport) -> None:
    if st.session_state.pop(_UNTICK, False):  # before the checkbox exists in this run
        st.session_state["migrations_confirm"] = False
        st.session_state["migrations_allow_data_loss"] = False
    sure = st.checkbox(f"I mean it: act on run {run.id}", key="migrations_confirm")
    state = RunStatus(run.status)
    can_roll_back = state.can(RunAction.ROLL_BACK)
    allow_data_loss, drops = False, None
    try:
        if sure and can_roll_back:
            drops = _rollback_drops(ctx, actor, run.id)
            if drops is not None:
                allow_data_loss = st.checkbox(
                    f"Drop these {drops} row(s): a verified copy goes to S3 first (admins only)",
                    key="migrations_allow_data_loss", disabled=not actor.can(Permission.MIGRATIONS_DROP_DATA))
        halt, resume, rollback = st.columns(3)
        if halt.button("Halt", disabled=not sure or not state.can(RunAction.HALT),
                       key="migrations_halt"):
            fleet.halt(ctx, actor, run.id, "halted from the Migrations page")
            _acted()
        if resume.button("Resume", disabled=not sure or not state.can(RunAction.RESUME), key="migrations_resume"):
            fleet.resume(ctx, actor, run.id, queue=True)
            _acted()
        if rollback.button("Roll back", disabled=not sure or not can_roll_back, key="migrations_rollback"):
            fleet.rollback(ctx, actor, run.id, allow_data_loss=allow_data_loss)
            _acted()
    except ControlPlaneError as exc:
        show_error(exc)


def _rollback_drops(ctx: AppContext, actor: Actor, run_id: int) -> int | None:
    """Says what a rollback would drop before it is confirmed; the number of rows, None when none."""
    preview = fleet.rollback_preview(ctx, actor, run_id)
    if not preview["rows"]:
        st.caption(f"Rolling back puts {preview['tenants']} tenant(s) back; no rows are dropped.")
        return None
    objects = ", ".join(f"{plain(name)}: {n}" for name, n in preview["by_object"].items())
    st.warning(f"Rolling back drops {preview['rows']} row(s) in {preview['tenants_with_data']} tenant(s) "
               f"({objects}). Only an admin may, after confirming below; each tenant's data is copied to S3 and "
               "verified first.", icon=":material/warning:")
    return int(preview["rows"])
