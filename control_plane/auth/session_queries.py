"""Storage of sign-in sessions (catalog table sign_in_sessions), in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from control_plane.db.models import SignInSession, User


@dataclass(frozen=True)
class SessionRow:
    id: int
    user_id: int
    username: str
    role: str
    disabled: bool
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None


_ROW = (select(SignInSession.id, SignInSession.user_id, User.username, User.role, User.disabled,
               SignInSession.created_at, SignInSession.expires_at, SignInSession.last_seen_at,
               SignInSession.revoked_at)
        .join(User, User.id == SignInSession.user_id))


def create(session: Session, *, token_hash: str, user_id: int, now: datetime, expires_at: datetime,
           client: str | None, user_agent: str | None) -> int:
    return session.execute(insert(SignInSession).values(
        token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at, last_seen_at=now,
        client=client, user_agent=user_agent).returning(SignInSession.id)).scalar_one()


def by_token_hash(session: Session, token_hash: str) -> SessionRow | None:
    row = session.execute(_ROW.where(SignInSession.token_hash == token_hash)).one_or_none()
    return SessionRow(*row) if row else None


def by_id(session: Session, session_id: int) -> SessionRow | None:
    row = session.execute(_ROW.where(SignInSession.id == session_id)).one_or_none()
    return SessionRow(*row) if row else None


def touch(session: Session, session_id: int, now: datetime, every: timedelta) -> None:
    """Record activity at most once per `every`: most runs write nothing (the WHERE matches no row)."""
    session.execute(update(SignInSession)
                    .where(SignInSession.id == session_id, SignInSession.last_seen_at <= now - every)
                    .values(last_seen_at=now))


def revoke(session: Session, session_ids: list[int], now: datetime, reason: str) -> list[int]:
    """Revoke those of the sessions that are not revoked yet; their ids."""
    if not session_ids:
        return []
    return list(session.scalars(update(SignInSession)
                                .where(SignInSession.id.in_(session_ids), SignInSession.revoked_at.is_(None))
                                .values(revoked_at=now, revoked_reason=reason)
                                .returning(SignInSession.id)))


def revoke_for_user(session: Session, user_id: int, now: datetime, reason: str) -> list[int]:
    """Revoke every session of an account that could still be used; their ids."""
    return list(session.scalars(update(SignInSession)
                                .where(SignInSession.user_id == user_id, SignInSession.revoked_at.is_(None),
                                       SignInSession.expires_at > now)
                                .values(revoked_at=now, revoked_reason=reason)
                                .returning(SignInSession.id)))


def prune(session: Session, before: datetime) -> None:
    """Forget sessions that ended (expired) before `before`; the audit log keeps their story."""
    session.execute(delete(SignInSession).where(SignInSession.expires_at < before))
