"""Clusters: each cluster's security posture (`clusters check`), for on-call and admins; admins
may revoke what can be revoked, behind a ticked confirmation (docs/security.md "Cluster posture")."""

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Permission
from control_plane.services import cluster_posture
from ui import cached_reads as reads
from ui.auth import page_guard
from ui.context import app_context
from ui.feedback import attempt, flash, show_flash
from ui.formatting import table as readable
from ui.text import plain

actor = page_guard(Permission.CLUSTERS_CHECK)
ctx = app_context()
st.title("Clusters")
st.caption("Security posture of every cluster: who may create objects or temporary tables, who reads every "
           "session's statements, and the settings backups and online moves need. Checked daily by the "
           "`cluster_posture` job (an alert when something fails); provisioning on a failing cluster is refused.")
show_flash()
if st.button("Check again", icon=":material/refresh:", key="posture_refresh"):
    reads.cluster_posture_reports.clear()

BADGE = {"ok": ":green-badge[ok]", "warn": ":orange-badge[warn]", "fail": ":red-badge[fail]"}

for entry in reads.cluster_posture_reports(ctx, actor):
    name, report = entry["cluster"], entry["report"]
    if report is None:
        st.subheader(plain(name))
        st.error(f"Could not check this cluster: {plain(entry['problem'])}")
        continue
    st.subheader(f"{plain(name)} {BADGE[report['status']]}")
    st.caption(f"Database {plain(report['database'])}, PostgreSQL {plain(report['server_version'])}")
    frame = pd.DataFrame([{"status": i["status"], "item": i["title"], "explanation": i["explanation"]}
                          for i in report["items"]])
    st.dataframe(readable(frame, labels={"item": "Check"}), hide_index=True, width="stretch", key=f"posture_{name}")
    statements = [s for i in report["items"] if i["status"] != "ok" for s in i["sql"]]
    if statements:
        st.caption("SQL to run (as the cluster's administrator):")
        st.code("\n".join(statements), language="sql")
    fixable = [i for i in report["items"] if i["fixable"]]
    if fixable and actor.can(Permission.CLUSTERS_MANAGE):
        with st.expander(f"Fix {plain(name)}", icon=":material/build:"), st.form(f"posture_fix_{name}"):
            st.caption("Revokes, in one audited transaction: " + plain("; ".join(i["title"] for i in fixable))
                       + ". What needs an operator stays listed with its SQL.")
            sure = st.checkbox(f"Yes, revoke these on {plain(name)} now", key=f"posture_fix_confirm_{name}")
            confirm_msg = st.empty()
            if st.form_submit_button("Revoke", type="primary"):
                if not sure:
                    confirm_msg.error("Tick the confirmation to revoke.")
                elif attempt("Revoking…", lambda name=name: cluster_posture.fix(ctx, actor, name)):
                    reads.cluster_posture_reports.clear()
                    flash(f"Cluster {name}: revoked what could be revoked; see the audit log.")
                    st.rerun()
