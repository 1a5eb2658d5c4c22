"""Provision a tenant: a form whose validation messages appear next to the field they concern.

The slug's rule is written under the field (not only in its hover help). The browser checks the
slug's shape before submitting; the same rules run here again (and once
more in the service), so a message always lands under the field a person has to fix.
"""

from __future__ import annotations

import re

import streamlit as st

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.domain.slugs import validate_slug
from control_plane.errors import Conflict, ControlPlaneError, InvalidInput
from control_plane.services import tenants as tenant_service
from ui.feedback import flash, show_error
from ui.tenant_list import open_tenant
from ui.text import plain

_AUTO = "Automatic (least loaded)"
_SLUG_RULE = (r"^[a-z][a-z0-9_]{1,39}$",
              "2-40 characters: lowercase letters, digits, underscores; start with a letter.")


def render_provision_form(ctx: AppContext, actor: Actor) -> None:
    plans = tenant_service.plan_codes(ctx)
    with st.form("provision", clear_on_submit=False):
        st.markdown("**New tenant** — creates schema and role `tenant_<slug>` with the tenant tables.")
        slug = st.text_input("Slug", key="new_slug", max_chars=40, validate=_SLUG_RULE,
                             help="Becomes the schema tenant_<slug>; cannot be changed later.")
        st.caption(f"{_SLUG_RULE[1]} Becomes the schema `tenant_<slug>`; cannot be changed later.")
        slug_msg = st.empty()
        name = st.text_input("Company name", key="new_name", max_chars=200)
        name_msg = st.empty()
        plan = st.selectbox("Plan", plans, index=plans.index("starter") if "starter" in plans else 0, key="new_plan")
        owner = st.text_input("Owner e-mail", key="new_owner", placeholder="optional",
                              validate=(tenant_service.EMAIL.pattern, "Enter an e-mail like ops@example.com."))
        owner_msg = st.empty()
        endpoint = st.text_input("Endpoint URL", key="new_endpoint", placeholder="optional, https://…",
                                 help="Probed by the health sweep when set.")
        endpoint_msg = st.empty()
        cluster = st.selectbox("Cluster", [_AUTO, *tenant_service.cluster_names(ctx)], key="new_cluster")
        form_msg = st.empty()
        submitted = st.form_submit_button("Provision", type="primary", icon=":material/add:")
    if not submitted:
        return
    problems = {
        slug_msg: _slug_problem(slug),
        name_msg: None if name.strip() else "A company name is required.",
        owner_msg: None if not owner.strip() or tenant_service.EMAIL.fullmatch(owner.strip().lower())
        else f"{owner.strip()!r} is not an e-mail address.",
        endpoint_msg: None if not endpoint.strip() or re.match(r"^https?://[^\s/]+", endpoint.strip())
        else "Use an http:// or https:// URL.",
    }
    if any(problems.values()):
        for slot, message in problems.items():
            if message:
                slot.error(plain(message), icon=":material/error:")  # may quote what was typed
        return
    try:
        with st.spinner(f"Provisioning tenant_{slug.strip()} (schema, role, tables)…"):
            tenant = tenant_service.provision(
                ctx, actor, slug.strip(), name, plan, cluster=None if cluster == _AUTO else cluster,
                owner_email=owner or None, endpoint_url=endpoint or None)
    except Conflict as exc:
        show_error(exc, slug_msg)
        return
    except ControlPlaneError as exc:
        show_error(exc, form_msg)
        return
    flash(f"Tenant {tenant.slug} provisioned: schema {tenant.schema} on cluster {tenant.cluster}, plan {tenant.plan}.")
    open_tenant(tenant.slug)
    st.rerun()


def _slug_problem(slug: str) -> str | None:
    try:
        validate_slug(slug.strip())
    except InvalidInput as exc:
        return str(exc)
    return None
