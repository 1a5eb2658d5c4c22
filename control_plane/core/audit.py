"""The audit log: written in the same transaction as the action it records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from control_plane.auth.permissions import Actor
from control_plane.db.models import AuditEntry

_INSERT = insert(AuditEntry)


def entry(actor: Actor, action: str, *, tenant_slug: str | None = None, target: str | None = None,
          outcome: str = "ok", reason: str | None = None, before: dict[str, Any] | None = None,
          after: dict[str, Any] | None = None, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """An audit row's values by column: what record() writes, and what a caller that writes the
    entry inside its own SQL script (fleet migrations: one round trip per tenant) inserts."""
    return {"actor": actor.name, "actor_role": actor.role.value, "action": action, "tenant_slug": tenant_slug,
            "target": target, "outcome": outcome, "reason": reason, "before": before, "after": after,
            "detail": detail}


def record(session: Session, actor: Actor, action: str, **fields: Any) -> None:
    # One prebuilt Core insert with parameters: written at once, in the caller's transaction,
    # without a unit-of-work flush or building a statement per call (audit is on every hot path).
    session.execute(_INSERT, entry(actor, action, **fields))
