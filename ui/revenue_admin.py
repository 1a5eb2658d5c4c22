"""The Revenue screen's administration: plans and list prices (Permission.PLANS_MANAGE) and the
subscription-change CSV import (Permission.BILLING_IMPORT). The services check again and audit;
a file with any bad row is rejected whole, with every problem listed by line."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core.records import record
from control_plane.errors import ControlPlaneError
from control_plane.revenue import importer, plans
from ui.feedback import show_error
from ui.formatting import money
from ui.formatting import table as readable
from ui.text import plain


def render_admin(ctx: AppContext, actor: Actor) -> None:
    """Nothing at all for a role that may do neither."""
    if not (actor.can(Permission.PLANS_MANAGE) or actor.can(Permission.BILLING_IMPORT)):
        return
    st.divider()
    st.subheader("Administration")
    if actor.can(Permission.PLANS_MANAGE):
        with st.expander("Plans and list prices"):
            _plans(ctx, actor)
    if actor.can(Permission.BILLING_IMPORT):
        with st.expander("Import subscription changes (CSV)"):
            _import(ctx, actor)


PLAN_COLUMNS = ["code", "name", "list_price", "interval", "sort_order", "active", "tenants"]


def _plans(ctx: AppContext, actor: Actor) -> None:
    table = pd.DataFrame([record(p) for p in plans.list_plans(ctx, actor)], columns=PLAN_COLUMNS)
    st.dataframe(readable(table, money_cols=["list_price"], labels={"code": "Plan code", "sort_order": "Order"}),
                 hide_index=True, key="plans_table")
    with st.form("plan_form"):
        code = st.text_input("Plan code", key="plan_code", help="An existing code edits it; a new one adds it.")
        name = st.text_input("Name", key="plan_name")
        price = st.text_input("List price per interval per seat", key="plan_price", placeholder="49.00")
        interval = st.selectbox("Interval", ["month", "year"], key="plan_interval")
        saved = st.form_submit_button("Save plan")
    if not saved:
        return
    try:
        view = plans.save_plan(ctx, actor, code, name=name or None, list_price=price or None, interval=interval)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    st.success(f"Saved plan {plain(view.code)}: {money(view.list_price)} per {view.interval}. "
               "Existing subscriptions keep their price.")


def _import(ctx: AppContext, actor: Actor) -> None:
    st.caption("Columns: " + ",".join(importer.COLUMNS) + ". A row replaces the tenant's row for the "
               "same date; any bad row rejects the whole file.")
    upload = st.file_uploader("CSV file", type=["csv"], key="billing_upload")
    if upload is None or not st.button("Import", key="billing_import", type="primary"):
        return
    try:
        with st.spinner("Importing…"), tempfile.TemporaryDirectory(prefix="billing-upload-") as folder:
            staged = Path(folder) / "upload.csv"  # the CLI's path: streamed, checked in SQL, one transaction
            staged.write_bytes(upload.getvalue())
            result = importer.import_file(ctx, actor, staged, source=upload.name)
    except importer.ImportRejected as exc:
        st.error(f"{len(exc.problems)} bad rows; nothing was imported.")
        st.dataframe([{"line": line, "problem": msg} for line, msg in exc.problems], hide_index=True)
    except ControlPlaneError as exc:
        show_error(exc)
    else:
        st.success(f"Imported {result.rows} rows ({result.inserted} new, {result.replaced} replaced) "
                   f"for {result.tenants} tenants.")
