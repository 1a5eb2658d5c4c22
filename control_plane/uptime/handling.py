"""On-call's hand on an alert or an incident: acknowledge, assign to a user, note, resolve
(docs/runbook.md "Handling an item"). Each checks the permission (incidents: INCIDENTS_MANAGE,
alerts: ALERTS_MANAGE) and writes the audit log in the same transaction as the change.

Resolving closes the item by hand (closed_by, closed_at). An incident's resolved_at stays what
the checks say (the instant its target answered again): the sweep and imports own it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from control_plane.auth.permissions import GRANTS, Actor, Permission, Role
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.authorization import authorize
from control_plane.db.models import Alert, Incident
from control_plane.domain.text import clean_text
from control_plane.errors import InvalidInput, NotFound
from control_plane.uptime import inbox_queries
from control_plane.uptime.incidents import clean_note

KINDS = ("alert", "incident")
ACTIONS = ("acknowledge", "assign", "note", "resolve")
_PERMISSION = {"alert": Permission.ALERTS_MANAGE, "incident": Permission.INCIDENTS_MANAGE}
_STATE = ("acknowledged_by", "acknowledged_at", "assigned_to", "note", "closed_by", "closed_at")
USERNAME_MAX = 200


def handle(ctx: AppContext, actor: Actor, kind: str, item_id: int, action: str, *, note: str | None = None,
           assignee: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Apply `action` to alert or incident `item_id`; returns its handling state afterwards.
    A note may go with any action; `assign` needs `assignee`, `note` needs a note."""
    if kind not in KINDS:
        raise InvalidInput(f"Handle an alert or an incident, not {kind!r}.")
    if action not in ACTIONS:
        raise InvalidInput(f"Choose one of: {', '.join(ACTIONS)}.")
    authorize(ctx, actor, _PERMISSION[kind], f"{kind}.{action}", target=str(item_id))
    note = clean_note(note)
    if action == "note" and not note:
        raise InvalidInput("Write a note first.")
    if action == "assign":
        assignee = clean_text(assignee, "Assignee", USERNAME_MAX)
        if not assignee:
            raise InvalidInput("Choose whom to assign it to.")
    now = now or ctx.clock()
    with ctx.session_factory() as session:
        item = _get(session, kind, item_id)
        if action == "assign":
            _check_assignee(session, kind, assignee)
        before = _state(item)
        if action == "acknowledge" and item.acknowledged_at is None:
            item.acknowledged_by, item.acknowledged_at = actor.name, now
        elif action == "assign":
            item.assigned_to, item.assigned_by, item.assigned_at = assignee, actor.name, now
        elif action == "resolve":
            if item.closed_at is not None:
                raise InvalidInput(f"{kind.capitalize()} #{item_id} was already resolved by {item.closed_by}.")
            item.closed_by, item.closed_at = actor.name, now
        if note:
            item.note = note
        after = _state(item)
        audit.record(session, actor, f"{kind}.{action}", tenant_slug=item.tenant_slug, target=item.target,
                     before=_jsonable(before), after=_jsonable(after), detail={f"{kind}_id": item_id})
        session.commit()
    return {"kind": kind, "id": item_id, **after}


def assignable(ctx: AppContext, actor: Actor, kind: str) -> list[str]:
    """Users who may be given an item of this kind: enabled accounts whose role may handle it."""
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.assignable")
    with ctx.session_factory() as session:
        return inbox_queries.assignable_users(session, _roles_for(kind))


def _roles_for(kind: str) -> list[str]:
    return [role.value for role in Role if _PERMISSION[kind] in GRANTS[role]]


def _check_assignee(session: Session, kind: str, username: str) -> None:
    role = inbox_queries.user_role(session, username)
    if role is None:
        raise InvalidInput(f"No enabled user {username!r}.")
    if role not in _roles_for(kind):
        raise InvalidInput(f"{username} ({role}) may not handle {kind}s; assign it to on-call or an admin.")


def _get(session: Session, kind: str, item_id: int) -> Alert | Incident:
    item = session.get(Alert if kind == "alert" else Incident, item_id, with_for_update=True)
    if item is None:
        raise NotFound(f"No {kind} #{item_id}. Refresh the page.")
    return item


def _state(item: Alert | Incident) -> dict[str, Any]:
    return {name: getattr(item, name) for name in _STATE}


def _jsonable(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in state.items()}
