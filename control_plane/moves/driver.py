"""Is a running move being driven, and take it on when not (the app's "Resume").

A move is driven by one process at a time, which holds a session advisory lock on the catalog for
it (control_plane/moves/service.py `_driver_lock`); the server lets go when that process dies, so
"running, and nobody holds the lock" means the process driving it stopped (an app restart, a
kill): the app offers Resume. Resuming while another process drives it is refused with the line
the move service gives."""

from __future__ import annotations

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.authorization import authorize
from control_plane.db import advisory_locks
from control_plane.errors import Conflict
from control_plane.moves import service as moves
from control_plane.moves.ledger import MoveView
from control_plane.moves.service import MoveOptions
from control_plane.moves.states import MoveAction


def is_driven(ctx: AppContext, actor: Actor, move_id: int) -> bool:
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.move.status")
    with ctx.clusters.connect_catalog(autocommit=True) as conn:
        return advisory_locks.held(conn, advisory_locks.move_driver(move_id))


def resume(ctx: AppContext, actor: Actor, move: MoveView, options: MoveOptions = MoveOptions()) -> None:
    """Drive `move` on in a thread of this process, from its last recorded step."""
    authorize(ctx, actor, Permission.TENANTS_MOVE, "tenant.move.resume", tenant_slug=move.tenant)
    if not move.can(MoveAction.DRIVE):
        raise Conflict(f"Move #{move.id} is {move.status}; there is nothing to resume.")
    if is_driven(ctx, actor, move.id):
        raise Conflict(f"Move #{move.id} is being driven by another process right now; its progress shows "
                       "here as it goes.")
    with ctx.session_factory() as session:
        audit.record(session, actor, "tenant.move.resume", tenant_slug=move.tenant, target=f"move:{move.id}",
                     detail={"step": move.step})
        session.commit()
    moves.resume_in_background(ctx, actor, move.id, options)
