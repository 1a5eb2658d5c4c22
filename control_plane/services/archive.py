"""Archive and restore (AWS area owns this): pg_dump -n to S3, verify, then drop; restore back."""

from __future__ import annotations

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from control_plane.services.tenants import TenantView


def request_archive(ctx: AppContext, actor: Actor, slug: str, reason: str) -> None:
    """Support asks for an archive; an admin carries it out. Audited."""
    raise ControlPlaneError("Archive requests are not available yet.")


def archive_tenant(ctx: AppContext, actor: Actor, slug: str) -> TenantView:
    raise ControlPlaneError("Archiving is not available yet.")


def restore_tenant(ctx: AppContext, actor: Actor, slug: str) -> TenantView:
    raise ControlPlaneError("Restoring is not available yet.")
