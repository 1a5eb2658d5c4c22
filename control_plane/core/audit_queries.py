"""Audit log read model: filtered, newest first, as a DataFrame for the Audit log page and CSV."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.db.models import AuditEntry
from control_plane.domain.text import SEARCH_MAX, clean_text
from control_plane.errors import InvalidInput

COLUMNS = ["at", "actor", "actor_role", "action", "tenant_slug", "target", "outcome", "reason",
           "before", "after", "detail"]
OUTCOMES = ("ok", "noop", "denied", "error")
DEFAULT_LIMIT = 5000


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    tenant_slug: str | None = None
    actions: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    text: str | None = None  # substring of the reason or target


def search(ctx: AppContext, actor: Actor, where: AuditFilter = AuditFilter(),
           limit: int = DEFAULT_LIMIT) -> pd.DataFrame:
    """Matching entries, newest (last committed) first, at most `limit` (the page says when it cut)."""
    authorize(ctx, actor, Permission.AUDIT_READ, "audit.read")
    where = replace(where, actor=clean_text(where.actor, "Actor", SEARCH_MAX) or None,
                    tenant_slug=clean_text(where.tenant_slug, "Tenant", SEARCH_MAX) or None,
                    text=clean_text(where.text, "Search", SEARCH_MAX) or None,
                    actions=tuple(clean_text(a, "Action", SEARCH_MAX) for a in where.actions))
    if where.since and where.until and where.since >= where.until:
        raise InvalidInput("The start of the time range must be before its end.")
    unknown = set(where.outcomes) - set(OUTCOMES)
    if unknown:
        raise InvalidInput(f"Unknown outcome {sorted(unknown)[0]!r}; use one of {', '.join(OUTCOMES)}.")
    # Newest first in the order the entries were committed, not by `at`: `at` is when the writing
    # transaction started, and two transactions about one tenant can start in one order and commit
    # in the other. An entry's id is drawn when it is written, after the service holds its row
    # locks and just before it commits, so ids follow the commit order of changes to one object.
    query = select(*(getattr(AuditEntry, c) for c in COLUMNS)).order_by(AuditEntry.id.desc())
    if where.actor:
        query = query.where(func.lower(AuditEntry.actor) == where.actor.strip().lower())
    if where.tenant_slug:
        query = query.where(AuditEntry.tenant_slug == where.tenant_slug.strip().lower())
    if where.actions:
        query = query.where(AuditEntry.action.in_(where.actions))
    if where.outcomes:
        query = query.where(AuditEntry.outcome.in_(where.outcomes))
    if where.since:
        query = query.where(AuditEntry.at >= where.since)
    if where.until:
        query = query.where(AuditEntry.at < where.until)
    if where.text and where.text.strip():
        query = query.where(func.lower(func.coalesce(AuditEntry.reason, "") + " " +
                                       func.coalesce(AuditEntry.target, "")).contains(where.text.strip().lower(),
                                                                                     autoescape=True))
    with ctx.session_factory() as session:
        rows = session.execute(query.limit(limit)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=COLUMNS)
    for column in ("before", "after", "detail"):  # JSON text: readable in a table and a CSV cell
        frame[column] = frame[column].map(_json_text)
    return frame


def for_tenant(ctx: AppContext, actor: Actor, slug: str, limit: int = DEFAULT_LIMIT) -> pd.DataFrame:
    """A tenant's full trail (every action that named it), newest first."""
    return search(ctx, actor, AuditFilter(tenant_slug=slug), limit=limit)


def choices(ctx: AppContext, actor: Actor) -> dict[str, list[str]]:
    """The actors and actions that occur, for the page's filter pickers."""
    authorize(ctx, actor, Permission.AUDIT_READ, "audit.read")
    with ctx.session_factory() as session:
        actors = list(session.scalars(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)))
        actions = list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
    return {"actors": actors, "actions": actions}


def _json_text(value: object) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str, separators=(", ", ": "))

