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


# --- administration (admin only) -------------------------------------------------------------

def list_users(ctx: AppContext, actor: Actor) -> list[UserView]:
    authorize(ctx, actor, Permission.USERS_MANAGE, "user.list")
    with ctx.session_factory() as session:
        return [_view(u) for u in session.scalars(select(User).order_by(func.lower(User.username)))]


def set_role(ctx: AppContext, actor: Actor, username: str, role: str) -> UserView:
    authorize(ctx, actor, Permission.USERS_MANAGE, "user.set_role", target=username)
    parsed = parse_role(role)
    with ctx.session_factory() as session:
        user = _get_locked(session, username)
        before = {"role": user.role}
        if user.role == parsed.value:
            audit.record(session, actor, "user.set_role", target=user.username, outcome="noop",
                         before=before, after=before)
            session.commit()
            return _view(user)
        if user.role == Role.ADMIN.value:
            _keep_an_admin(session, user, "take the admin role from")
        user.role = parsed.value
        audit.record(session, actor, "user.set_role", target=user.username, before=before,
                     after={"role": user.role})
        session.commit()
        return _view(user)


def set_disabled(ctx: AppContext, actor: Actor, username: str, disabled: bool) -> UserView:
    """Disable or enable an account; a disabled account is signed out on its next page load."""
    action = "user.disable" if disabled else "user.enable"
    authorize(ctx, actor, Permission.USERS_MANAGE, action, target=username)
    with ctx.session_factory() as session:
        user = _get_locked(session, username)
        if user.disabled == disabled:
            audit.record(session, actor, action, target=user.username, outcome="noop")
            session.commit()
            return _view(user)
        if disabled:
            if user.username.lower() == actor.name.lower():
                raise InvalidInput("You cannot disable your own account; ask another admin.")
            if user.role == Role.ADMIN.value:
                _keep_an_admin(session, user, "disable")
        user.disabled = disabled
        audit.record(session, actor, action, target=user.username, before={"disabled": not disabled},
                     after={"disabled": disabled})
        session.commit()
        return _view(user)


def set_password(ctx: AppContext, actor: Actor, username: str, password: str) -> UserView:
    authorize(ctx, actor, Permission.USERS_MANAGE, "user.set_password", target=username)
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.")
    with ctx.session_factory() as session:
        user = _get_locked(session, username)
        user.password_hash = hash_password(password)
        audit.record(session, actor, "user.set_password", target=user.username)  # never the password
        session.commit()
        return _view(user)


def actor_for_email(ctx: AppContext, email: str) -> Actor | None:
    """The account an OIDC identity maps to: same e-mail, or a username equal to the e-mail."""
    email = (email or "").strip().lower()
    if not email:
        return None
    with ctx.session_factory() as session:
        user = session.scalar(
            select(User)
            .where((func.lower(User.email) == email) | (func.lower(User.username) == email))
            .order_by(User.id)
            .limit(1)
        )
        if user is None or user.disabled:
            return None
        return Actor(name=user.username, role=Role(user.role))


def record_oidc_sign_in(ctx: AppContext, email: str, actor: Actor | None) -> None:
    """Audit an OIDC sign-in (once per app session), mapped to an account or refused."""
    with ctx.session_factory() as session:
        who = actor or Actor(name=email or "?", role=Role.FOUNDER)
        audit.record(session, who, "auth.sign_in", target=email, outcome="ok" if actor else "denied",
                     reason=None if actor else "no enabled account with this e-mail", detail={"method": "oidc"})
        if actor is not None:
            user = session.scalar(select(User).where(User.username == actor.name))
            if user is not None:
                user.last_login_at = datetime.now(UTC)
        session.commit()


def record_sign_out(ctx: AppContext, actor: Actor) -> None:
    with ctx.session_factory() as session:
        audit.record(session, actor, "auth.sign_out", target=actor.name)
        session.commit()


def _get_locked(session, username: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == (username or "").strip().lower())
                          .with_for_update())
    if user is None:
        raise NotFound(f"No user {username!r}.")
    return user


def _keep_an_admin(session, user: User, verb: str) -> None:
    """Refuse a change that would leave no enabled admin: nobody could manage accounts any more."""
    others = session.scalar(select(func.count(User.id)).where(
        User.role == Role.ADMIN.value, User.disabled.is_(False), User.id != user.id))
    if not others:
        raise Conflict(f"Cannot {verb} {user.username!r}: it is the last enabled admin. Make another admin first.")
