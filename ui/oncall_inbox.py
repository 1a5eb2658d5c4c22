"""The on-call inbox at the top of Overview and Uptime (docs/runbook.md "The on-call inbox"):
each count with a button that shows its list right below; "All clear" only when every count is
zero. Those allowed (on-call, admin) acknowledge, assign, note and resolve an item here; the
service checks again and audits. Targets, errors and notes came from outside or were typed by a
person: they are drawn as text (dataframes, selectbox options, ui/text.py plain)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from control_plane.uptime import handling, runbook
from control_plane.uptime.inbox import Inbox
from control_plane.uptime.incidents import NOTE_MAX
from ui import cached_reads as reads
from ui.feedback import flash, show_error, show_flash
from ui.formatting import MISSING, target_label, text, utc_time
from ui.navigation import link
from ui.text import plain
from ui.uptime_tables import tenant_names

# (list, label, counts that make it up, severity shown)
TILES = (
    ("incidents", "Open incidents", ("open_incidents",), "critical"),
    ("alerts", "Critical alerts", ("alerts_critical",), "critical"),
    ("alerts", "Warning alerts", ("alerts_warning",), "warning"),
    ("down", "Targets down", ("targets_down",), "critical"),
    ("out_of_budget", "Tenants out of budget", ("tenants_out_of_budget",), "warning"),
)
COLUMNS = {"severity": "Severity", "kind": "Kind", "id": "#", "target": "Target", "tenant": "Tenant",
           "since": "Since (UTC)", "detail": "What", "acknowledged_by": "Acknowledged by",
           "assigned_to": "Assigned to", "note": "Note", "runbook": "Runbook"}
KIND_LABELS = {"incident": "Incident", "burn_rate": "Burn-rate alert", "target_down": "Target down",
               "out_of_budget": "Out of error budget"}
ALL_CLEAR = ("All clear: no open incident, no firing burn-rate alert, no target down, "
             "every tenant within its error budget.")


def render_inbox(ctx: AppContext, actor: Actor, *, key: str) -> Inbox | None:
    """Draw the inbox; returns it (None when it could not be read) so the page can agree with it."""
    st.subheader("On-call inbox")
    show_flash()
    try:
        inbox = reads.inbox(ctx, actor)
    except ControlPlaneError as exc:
        show_error(exc)
        return None
    if inbox.all_clear:
        st.success(ALL_CLEAR, icon=":material/check_circle:")
        return inbox
    counts = inbox.counts
    st.error(f"{sum(counts.values())} thing(s) need attention now.", icon=":material/notifications_active:")
    chosen_key = f"{key}_inbox_list"
    first = next(name for name, _, parts, _ in TILES if any(counts[p] for p in parts))
    chosen = st.session_state.get(chosen_key) or first
    for col, (name, label, parts, severity) in zip(st.columns(len(TILES)), TILES, strict=True):
        value = sum(counts[p] for p in parts)
        col.metric(label, f"{value:,}", border=True,
                   help=f"Severity {severity}. docs/runbook.md lists what to do.")
        if col.button("Show list", key=f"{key}_show_{label}", disabled=value == 0, width="stretch"):
            chosen = st.session_state[chosen_key] = name
    _render_list(ctx, actor, inbox, chosen, key)
    return inbox


def _frame(items: list[dict], names: dict[str, str]) -> pd.DataFrame:
    """Targets as tenant names ("Acme Corp · database"), tenants by slug, times and gaps in words
    (docs/pages.md "Display conventions")."""
    frame = pd.DataFrame(items, columns=list(COLUMNS))
    frame["kind"] = frame["kind"].map(KIND_LABELS)
    frame["id"] = [MISSING if pd.isna(i) else str(int(i)) for i in frame["id"]]  # not stored yet: no id
    frame["target"] = [target_label(t, names) for t in frame["target"]]
    frame["tenant"] = [s if isinstance(s, str) else MISSING for s in frame["tenant"]]  # the slug support searches by
    frame["since"] = [utc_time(s) for s in frame["since"]]
    for column in ("acknowledged_by", "assigned_to", "note", "runbook"):
        frame[column] = [text(v) for v in frame[column]]
    return frame.rename(columns={**COLUMNS, "since": "Since"})


def _render_list(ctx: AppContext, actor: Actor, inbox: Inbox, name: str, key: str) -> None:
    items = getattr(inbox, name)
    if not items:
        st.caption("Nothing in this list now.")
        return
    names = tenant_names(ctx, actor, [*(it["target"] for it in items), *(it["tenant"] for it in items)])
    st.dataframe(_frame(items, names), hide_index=True, width="stretch")
    labels = [f"{i + 1}. {KIND_LABELS[it['kind']]} "
              f"{target_label(it['target'], names) if it['target'] else names.get(it['tenant'], it['tenant'])} "
              f"({it['severity']})" for i, it in enumerate(items)]
    picked = st.selectbox("Item", range(len(items)), key=f"{key}_item_{name}", format_func=labels.__getitem__)
    item = items[picked]
    if item["tenant"]:
        link(actor, "pages/tenants.py", f"Tenant {plain(item['tenant'])}", {"tenant": item["tenant"]},
             icon=":material/apartment:")
    anchor = item["runbook"].split("#", 1)[1]
    with st.expander(f"Runbook: {item['runbook']}", icon=":material/menu_book:"):
        st.markdown(runbook.for_screen(anchor))  # our own document, not user text
    _handle_form(ctx, actor, item, key)


def _handle_form(ctx: AppContext, actor: Actor, item: dict, key: str) -> None:
    kind = {"incident": "incident", "burn_rate": "alert", "target_down": "incident"}.get(item["kind"])
    if kind is None:
        return  # out of budget: nothing stored to handle; the runbook says what to do
    permission = Permission.ALERTS_MANAGE if kind == "alert" else Permission.INCIDENTS_MANAGE
    if not actor.can(permission):
        st.caption(f"On-call or an admin acknowledges, assigns and resolves {kind}s.")
        return
    if item["id"] is None:
        st.caption("Not stored yet: the health sweep stores this alert at its next pass; handle it then."
                   if kind == "alert" else "No incident is open on this target yet (fewer failures in a row "
                                           "than the threshold).")
        return
    item_id = int(item["id"])
    with st.form(f"{key}_handle_{kind}_{item_id}"):
        st.markdown(f"**{kind.capitalize()} #{item_id}**: acknowledged by {plain(item['acknowledged_by'] or '–')}, "
                    f"assigned to {plain(item['assigned_to'] or '–')}")
        action = st.radio("Action", handling.ACTIONS, horizontal=True, key=f"{key}_action",
                          format_func=str.capitalize)
        people = ["", *handling.assignable(ctx, actor, kind)]
        assignee = st.selectbox("Assign to (for Assign)", people, key=f"{key}_assignee")
        note = st.text_area("Note (optional; required for Note)", key=f"{key}_note", max_chars=NOTE_MAX)
        submitted = st.form_submit_button("Apply", type="primary")
    if not submitted:
        return
    try:
        handling.handle(ctx, actor, kind, item_id, action, note=note, assignee=assignee or None)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    reads.clear_uptime()
    flash(f"{kind.capitalize()} #{item_id}: {action} done.")
    st.rerun()
