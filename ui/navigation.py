"""Every screen, who may open it, and where it lives. streamlit_app.py builds st.navigation
from this; each page file also guards itself with the same permission."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from streamlit.errors import StreamlitAPIException

from control_plane.auth.permissions import Actor, Permission


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    permission: Permission
    section: str = "Control plane"


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:", Permission.TENANTS_READ, "Control plane"),
    PageSpec("pages/tenants.py", "Tenants", ":material/apartment:", Permission.TENANTS_READ, "Customers"),
    PageSpec("pages/revenue.py", "Revenue", ":material/payments:", Permission.REVENUE_READ, "Customers"),
    PageSpec("pages/usage.py", "Usage", ":material/bar_chart:", Permission.USAGE_READ, "Customers"),
    PageSpec("pages/uptime.py", "Uptime", ":material/monitor_heart:", Permission.UPTIME_READ, "Operations"),
    PageSpec("pages/jobs.py", "Jobs", ":material/schedule:", Permission.JOBS_RUN, "Operations"),
    PageSpec("pages/scaling.py", "Scaling", ":material/tune:", Permission.SCALING_READ, "Operations"),
    PageSpec("pages/clusters.py", "Clusters", ":material/shield:", Permission.CLUSTERS_CHECK, "Operations"),
    PageSpec("pages/migrations.py", "Migrations", ":material/upgrade:", Permission.MIGRATIONS_READ, "Operations"),
    PageSpec("pages/audit.py", "Audit log", ":material/history:", Permission.AUDIT_READ, "Administration"),
    PageSpec("pages/users.py", "Users", ":material/group:", Permission.USERS_MANAGE, "Administration"),
)


def pages_for(actor: Actor) -> list[PageSpec]:
    return [p for p in PAGES if actor.can(p.permission)]


def spec(path: str) -> PageSpec:
    return next(p for p in PAGES if p.path == path)


def link(actor: Actor, path: str, label: str, query_params: dict[str, str] | None = None, *,
         icon: str = ":material/arrow_forward:") -> None:
    """A link to another screen, only when this role may open it (else nothing is drawn). `label`
    is Markdown: text people typed in it must be escaped by the caller (ui/text.py plain)."""
    target = spec(path)
    if not actor.can(target.permission):
        return
    try:
        st.page_link(path, label=label, icon=icon, query_params=query_params)
    except StreamlitAPIException:  # page file run on its own (deep link before the entry script ran)
        st.caption(f"{label}: open {target.title} in the menu")
