"""Migrations: template revisions, the fleet's versions, the current run (waves, progress, soak,
the health verdicts that decided each promotion, per-tenant results) and its controls
(docs/migrations.md). Runs started here are queued: the worker drives them, the page never waits."""

import streamlit as st

from control_plane.auth.permissions import Permission
from ui.auth import page_guard
from ui.context import app_context
from ui.migration_run import current_run
from ui.migration_start import render_start_form
from ui.migration_versions import revision_numbers

actor = page_guard(Permission.MIGRATIONS_READ)
ctx = app_context()
st.title("Migrations")
current_run(ctx)  # versions and the run in one fragment: they agree on every refresh
if actor.can(Permission.MIGRATIONS_RUN):
    render_start_form(ctx, actor, revision_numbers(ctx, actor))
