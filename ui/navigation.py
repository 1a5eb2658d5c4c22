"""Every screen, who may open it, and where it lives. streamlit_app.py builds st.navigation
from this; each page file also guards itself with the same permission."""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.auth.permissions import Actor, Permission


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    permission: Permission


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:", Permission.TENANTS_READ),
    PageSpec("pages/tenants.py", "Tenants", ":material/apartment:", Permission.TENANTS_READ),
    PageSpec("pages/revenue.py", "Revenue", ":material/payments:", Permission.REVENUE_READ),
    PageSpec("pages/uptime.py", "Uptime", ":material/monitor_heart:", Permission.UPTIME_READ),
    PageSpec("pages/jobs.py", "Jobs", ":material/schedule:", Permission.JOBS_RUN),
    PageSpec("pages/scaling.py", "Scaling", ":material/tune:", Permission.SCALING_READ),
    PageSpec("pages/usage.py", "Usage", ":material/bar_chart:", Permission.USAGE_READ),
    PageSpec("pages/audit.py", "Audit log", ":material/history:", Permission.AUDIT_READ),
    PageSpec("pages/users.py", "Users", ":material/group:", Permission.USERS_MANAGE),
)


def pages_for(actor: Actor) -> list[PageSpec]:
    return [p for p in PAGES if actor.can(p.permission)]
