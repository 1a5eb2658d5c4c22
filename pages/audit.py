"""Audit log: who did what to which tenant, when, and how it ended; filter and export."""

from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from control_plane.auth.permissions import Permission
from control_plane.core import audit_queries
from control_plane.core.audit_queries import AuditFilter
from control_plane.errors import ControlPlaneError
from ui.auth import page_guard
from ui.context import app_context
from ui.feedback import csv_download, show_error
from ui.formatting import audit_table
from ui.frames import utc

actor = page_guard(Permission.AUDIT_READ)
ctx = app_context()
st.title("Audit log")
st.caption("Every action, refusal and sign-in, newest first. Times are UTC; Change lists each field as "
           "old → new (the CSV keeps the full before/after).")

choices = audit_queries.choices(ctx, actor)
row1 = st.columns([1, 1, 2])
who = row1[0].selectbox("Actor", choices["actors"], index=None, placeholder="Anyone", key="audit_actor")
tenant = row1[1].text_input("Tenant slug", key="audit_tenant", placeholder="any tenant")
actions = row1[2].multiselect("Action", choices["actions"], key="audit_actions", placeholder="Any action")
row2 = st.columns([1, 1, 2])
today = datetime.now(UTC).date()
span = row2[0].date_input("Time range", (today - timedelta(days=30), today), max_value=today, key="audit_range")
outcomes = row2[1].multiselect("Outcome", list(audit_queries.OUTCOMES), key="audit_outcomes", placeholder="Any")
text = row2[2].text_input("Reason or target contains", key="audit_text")

days = [d for d in (span if isinstance(span, tuple | list) else [span]) if isinstance(d, date)]
since = datetime.combine(days[0], time.min, UTC) if days else None  # while a range is half picked: one day
until = datetime.combine(days[-1] + timedelta(days=1), time.min, UTC) if days else None

where = AuditFilter(actor=who, tenant_slug=tenant or None, actions=tuple(actions), outcomes=tuple(outcomes),
                    since=since, until=until, text=text or None)
try:
    entries = audit_queries.search(ctx, actor, where)
except ControlPlaneError as exc:
    show_error(exc)
    st.stop()

if entries.empty:
    st.info("No audit entries match these filters. Widen the time range or clear a filter.",
            icon=":material/search_off:")
    st.stop()
if len(entries) >= audit_queries.DEFAULT_LIMIT:
    st.warning(f"Showing the newest {audit_queries.DEFAULT_LIMIT:,} entries only; "
               "narrow the filters to see older ones.")

per_day = (entries.assign(day=utc(entries["at"]).dt.date)
           .groupby(["day", "outcome"]).size().rename("entries").reset_index())
st.bar_chart(per_day, x="day", y="entries", color="outcome", height=180)
st.caption(f"{len(entries):,} entries")
st.dataframe(audit_table(entries), hide_index=True, height=480)
csv_download(entries, "audit_log.csv", key="audit_csv")
