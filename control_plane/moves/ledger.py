"""The catalog's record of moves: one row per move, the last step finished and every step's time.
Each write is its own short transaction, so the record survives whatever happens next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from control_plane.context import AppContext
from control_plane.db.models import TenantMove
from control_plane.errors import Conflict, NotFound
from control_plane.moves.plan import CUTOVER, OFFLINE_STEPS, ONLINE_STEPS, PAST_CUTOVER, steps_of
from control_plane.moves.states import MoveAction, MoveStatus

__all__ = ["CUTOVER", "OFFLINE_STEPS", "ONLINE_STEPS", "MoveView", "steps_of"]  # the step names: moves/plan.py


@dataclass(frozen=True)
class MoveView:
    id: int
    tenant: str
    source: str
    target: str
    mode: str
    status: str
    step: str
    steps: list[dict[str, Any]]
    template_version: int
    cancel_requested: bool
    writes_blocked_ms: int | None
    verification: dict[str, Any] | None
    retained_schema: str | None
    retain_until: datetime | None
    purged_at: datetime | None
    error: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None

    @property
    def switched(self) -> bool:
        return self.step in PAST_CUTOVER or self.status == MoveStatus.COMPLETED

    def can(self, action: MoveAction | str) -> bool:
        """Whether the status allows `action` now; a cancel only before the cut-over."""
        return MoveStatus(self.status).can(action) and not (action == MoveAction.CANCEL and self.switched)

    @property
    def progress(self) -> tuple[int, int]:
        """(steps done, steps in all) for a progress bar."""
        order = steps_of(self.mode)
        done = order.index(self.step) + 1 if self.step in order else 0
        return done, len(order)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "tenant": self.tenant, "source": self.source, "target": self.target,
                "mode": self.mode, "status": self.status, "step": self.step, "steps": self.steps,
                "template_version": self.template_version, "writes_blocked_ms": self.writes_blocked_ms,
                "verification": self.verification, "retained_schema": self.retained_schema,
                "retain_until": self.retain_until, "purged_at": self.purged_at, "error": self.error,
                "created_by": self.created_by, "created_at": self.created_at, "finished_at": self.finished_at}


def view(move: TenantMove) -> MoveView:
    return MoveView(
        id=move.id, tenant=move.tenant_slug, source=move.source_cluster, target=move.target_cluster,
        mode=move.mode, status=move.status, step=move.step, steps=list(move.steps or []),
        template_version=move.template_version, cancel_requested=move.cancel_requested,
        writes_blocked_ms=move.writes_blocked_ms, verification=move.verification,
        retained_schema=move.retained_schema, retain_until=move.retain_until, purged_at=move.purged_at,
        error=move.error, created_by=move.created_by, created_at=move.created_at, finished_at=move.finished_at)


def active(session: Session, slug: str, *, lock: bool = False) -> TenantMove | None:
    query = select(TenantMove).where(TenantMove.tenant_slug == slug, TenantMove.status == MoveStatus.RUNNING)
    return session.scalar(query.with_for_update() if lock else query)


def refuse_if_moving(session: Session, slug: str, action: str) -> None:
    """Suspend, resume, archive, a migration or a second move: not while the tenant is moving."""
    move = active(session, slug)
    if move is not None:
        raise Conflict(f"Cannot {action} tenant {slug!r}: it is being moved to cluster {move.target_cluster} "
                       f"(move #{move.id}, last step {move.step}); wait for the move to end, or cancel it with "
                       f"`tenants move cancel {slug}`.")


def moving_slugs(session: Session) -> set[str]:
    return set(session.scalars(select(TenantMove.tenant_slug).where(TenantMove.status == MoveStatus.RUNNING)))


def stalled(session: Session, before: datetime) -> list[TenantMove]:
    """Running moves whose record has not changed since `before` (no process drives them)."""
    return list(session.scalars(select(TenantMove).where(TenantMove.status == MoveStatus.RUNNING,
                                                         TenantMove.updated_at < before).order_by(TenantMove.id)))


def get(ctx: AppContext, move_id: int) -> TenantMove:
    with ctx.session_factory() as session:
        move = session.get(TenantMove, move_id)
        if move is None:
            raise NotFound(f"No move #{move_id}.")
        session.expunge(move)
        return move


def record_step(ctx: AppContext, move_id: int, step: str, seconds: float, now: datetime,
                **fields: Any) -> TenantMove:
    entry = {"step": step, "at": now.isoformat(), "ms": round(seconds * 1000)}
    with ctx.session_factory() as session:
        session.execute(update(TenantMove).where(TenantMove.id == move_id).values(
            step=step, steps=TenantMove.steps.op("||")(literal([entry], JSONB)),
            updated_at=now, **fields))
        session.commit()
    return get(ctx, move_id)


def set_fields(ctx: AppContext, move_id: int, now: datetime, **fields: Any) -> TenantMove:
    with ctx.session_factory() as session:
        session.execute(update(TenantMove).where(TenantMove.id == move_id).values(updated_at=now, **fields))
        session.commit()
    return get(ctx, move_id)


def history(session: Session, slug: str | None, limit: int) -> list[MoveView]:
    query = select(TenantMove).order_by(TenantMove.created_at.desc(), TenantMove.id.desc()).limit(limit)
    if slug:
        query = query.where(TenantMove.tenant_slug == slug)
    return [view(m) for m in session.scalars(query)]
