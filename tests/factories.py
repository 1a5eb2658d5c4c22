"""Factories for tests: real rows through the real services."""

from __future__ import annotations

from control_plane.auth.permissions import Actor, Role
from control_plane.context import AppContext
from control_plane.core.tenant_view import TenantView
from control_plane.services import tenants

OPERATOR = Actor("factory", Role.ADMIN)


def make_tenant(ctx: AppContext, slug: str, *, plan: str = "team", name: str | None = None,
                owner_email: str | None = None, endpoint_url: str | None = None,
                template_version: int | None = None, is_demo: bool = False) -> TenantView:
    return tenants.provision(ctx, OPERATOR, slug, name or f"{slug.title()} Ltd", plan,
                             owner_email=owner_email or f"owner@{slug}.example.com", endpoint_url=endpoint_url,
                             template_version=template_version, is_demo=is_demo)
