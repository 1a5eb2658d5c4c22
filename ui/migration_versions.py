"""The template's revisions and the fleet's version distribution, side by side, at the top of the
Migrations page (docs/migrations.md "The Migrations page")."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.fleet import service as fleet
from ui.migration_tables import versions_chart


def render_versions(ctx: AppContext, actor: Actor) -> list[int]:
    """Draws both; returns the revision numbers (the versions a rollout may target)."""
    versions = fleet.revisions_and_versions(ctx, actor)
    left, right = st.columns([3, 2])
    left.dataframe(pd.DataFrame(versions["revisions"]), hide_index=True, width="stretch")
    chart = versions_chart(versions["tenants"])
    if chart is None:
        right.info("No tenants yet.")
    else:
        right.plotly_chart(chart, width="stretch")
    return [r["version"] for r in versions["revisions"]]
