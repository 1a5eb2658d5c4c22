"""Permission checks for services. A refusal is audited in a transaction of its own, so the
record survives the rollback of the refused action."""

from __future__ import annotations

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.errors import Forbidden


def authorize(ctx: AppContext, actor: Actor, permission: Permission, action: str, *,
              tenant_slug: str | None = None, target: str | None = None) -> None:
    if actor.can(permission):
        return
    with ctx.session_factory() as session:
        audit.record(session, actor, action, tenant_slug=tenant_slug, target=target, outcome="denied",
                     detail={"permission": permission.value})
        session.commit()
    raise Forbidden(f"{actor.name} ({actor.role.value}) is not allowed to {permission.value.replace('.', ': ')}.")
