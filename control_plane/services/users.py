"""Accounts for local sign-in: argon2id-hashed passwords, roles, disable, last login."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from control_plane.auth.passwords import hash_password, needs_rehash, verify_password
from control_plane.auth.permissions import Actor, Permission, Role
from control_plane.context import AppContext
from control_plane.db.models import User
from control_plane.errors import Conflict, InvalidInput, NotFound
from control_plane.services import audit
from control_plane.services.authorization import authorize

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
MIN_PASSWORD = 4


@dataclass(frozen=True)
class UserView:
    username: str
    role: str
    display_name: str | None
    email: str | None
    disabled: bool
    has_password: bool
    created_at: datetime
    last_login_at: datetime | None


def _view(user: User) -> UserView:
    return UserView(user.username, user.role, user.display_name, user.email, user.disabled,
                    bool(user.password_hash), user.created_at, user.last_login_at)


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(f"Unknown role {role!r}; use one of: {', '.join(r.value for r in Role)}.") from None


def add_user(ctx: AppContext, actor: Actor, username: str, role: str, password: str | None = None, *,
             display_name: str | None = None, email: str | None = None) -> UserView:
    authorize(ctx, actor, Permission.USERS_MANAGE, "user.add", target=username)
    username = (username or "").strip()
    if not USERNAME.fullmatch(username):
        raise InvalidInput("A username is 2-64 characters: letters, digits, '.', '_', '@' or '-'.")
    parsed = parse_role(role)
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.")
    with ctx.session_factory() as session:
        if session.scalar(select(User).where(func.lower(User.username) == username.lower())):
            raise Conflict(f"User {username!r} already exists.")
        user = User(username=username, role=parsed.value, display_name=display_name, email=email,
                    password_hash=hash_password(password) if password else None)
        session.add(user)
        audit.record(session, actor, "user.add", target=username,
                     after={"role": parsed.value, "password": bool(password)})
        session.commit()
        return _view(user)


def authenticate(ctx: AppContext, username: str, password: str) -> Actor | None:
    """Check a local password. Every attempt, good or bad, is audited."""
    username = (username or "").strip()
    with ctx.session_factory() as session:
        user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        ok = user is not None and not user.disabled and verify_password(user.password_hash, password or "")
        actor = Actor(name=user.username if user else username or "?",
                      role=Role(user.role) if user else Role.FOUNDER)
        if ok:
            assert user is not None
            user.last_login_at = datetime.now(UTC)
            if needs_rehash(user.password_hash or ""):
                user.password_hash = hash_password(password)
        reason = None if ok else ("disabled" if user is not None and user.disabled else "bad credentials")
        audit.record(session, actor, "auth.sign_in", target=username, outcome="ok" if ok else "denied",
                     reason=reason)
        session.commit()
        return actor if ok else None


def actor_for(ctx: AppContext, username: str) -> Actor | None:
    """The current role of an account (roles can change while someone is signed in)."""
    with ctx.session_factory() as session:
        user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if user is None or user.disabled:
            return None
        return Actor(name=user.username, role=Role(user.role))


def get_user(ctx: AppContext, username: str) -> UserView:
    with ctx.session_factory() as session:
        user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if user is None:
            raise NotFound(f"No user {username!r}.")
        return _view(user)


def count_users(ctx: AppContext) -> int:
    with ctx.session_factory() as session:
        return session.scalar(select(func.count(User.id))) or 0
