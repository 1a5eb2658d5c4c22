"""Cached reads for the Uptime and Jobs pages. Cached values are shared by every session, so
the acting user's name and role are part of every key (services re-check the permission)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor, Role
from control_plane.scheduler import service as job_service
from control_plane.uptime import views
from ui.context import app_context

TTL = 30


def _actor(name: str, role: str) -> Actor:
    return Actor(name, Role(role))


@st.cache_data(ttl=TTL, show_spinner="Computing uptime over 24 h, 7 d and 30 d…")
def uptime_table(name: str, role: str) -> pd.DataFrame:
    return views.uptime_table(app_context(), _actor(name, role))


@st.cache_data(ttl=TTL, show_spinner=False)
def fleet(name: str, role: str) -> dict:
    return views.fleet(app_context(), _actor(name, role))


@st.cache_data(ttl=TTL, show_spinner="Computing p95 latency…")
def latency(name: str, role: str, hours: int) -> pd.DataFrame:
    return views.latency_table(app_context(), _actor(name, role), hours=hours)


@st.cache_data(ttl=TTL, show_spinner=False)
def targets(name: str, role: str) -> list[str]:
    return views.target_names(app_context(), _actor(name, role))


@st.cache_data(ttl=TTL, show_spinner="Building the SLA report…")
def sla(name: str, role: str, slug: str, months: int) -> pd.DataFrame:
    return views.sla_report(app_context(), _actor(name, role), slug, months)


@st.cache_data(ttl=10, show_spinner=False)
def job_table(name: str, role: str) -> pd.DataFrame:
    return job_service.job_table(app_context(), _actor(name, role))


def clear() -> None:
    st.cache_data.clear()
