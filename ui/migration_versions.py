"""The template's revisions and the fleet's version distribution, side by side, at the top of the
Migrations page (docs/migrations.md "The Migrations page"). Drawn inside the run's fragment
(ui/migration_run.py), so they refresh with the run's status and never contradict it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.fleet import service as fleet
from ui.formatting import table as readable
from ui.migration_tables import versions_chart

REVISION_COLUMNS = ["version", "name", "kind", "reversible", "tenants"]


def render_versions(ctx: AppContext, actor: Actor) -> None:
    versions = fleet.revisions_and_versions(ctx, actor)
    left, right = st.columns([3, 2])
    revisions = pd.DataFrame(versions["revisions"], columns=REVISION_COLUMNS)
    left.dataframe(readable(revisions, labels={"name": "Revision"}), hide_index=True, width="stretch")
    chart = versions_chart(versions["tenants"])
    if chart is None:
        right.info("No tenants yet.")
    else:
        right.plotly_chart(chart, width="stretch")


def revision_numbers(ctx: AppContext, actor: Actor) -> list[int]:
    """The versions a rollout may target."""
    return fleet.revision_numbers(ctx, actor)
