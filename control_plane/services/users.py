"""Accounts for local sign-in: argon2id-hashed passwords, roles, disable, last login.

Sign-in is hardened (docs/security.md "Sign-in"): every input is bounded before any SQL, a failed attempt
costs one argon2 verification whether or not the account exists, repeated failures are throttled
per account name and per client (control_plane/auth/throttle.py), and every attempt is audited.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from control_plane.auth import session_queries, throttle_queries
from control_plane.auth.passwords import hash_password, needs_rehash, verify_password
from control_plane.auth.permissions import Actor, Permission, Role
from control_plane.auth.throttle import DEFAULT_POLICY, ThrottlePolicy, wait_left
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.authorization import authorize
from control_plane.db.models import User
from control_plane.domain.text import clean_text, printable
from control_plane.errors import Conflict, ControlPlaneError, InvalidInput, NotFound

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
MIN_PASSWORD = 12  # demo accounts on the embedded demo catalog are the only exception
MAX_PASSWORD = 1024  # argon2 takes any length: the bound keeps one request from costing much more
MAX_USERNAME_INPUT = 128  # what sign-in accepts at all (accounts themselves are at most 64)
MAX_DISPLAY_NAME = 200
MAX_EMAIL = 254
MAX_CLIENT = 80


class SignInThrottled(ControlPlaneError):
    exit_code = 5


def demo_accounts_allowed(ctx: AppContext) -> bool:
    """Demo accounts (published password) only in demo mode on the embedded catalog, never in a
    catalog reached through DATABASE_URL, even when CP_DEMO=true there."""
    return ctx.settings.demo and ctx.embedded_server is not None


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
             display_name: str | None = None, email: str | None = None, demo_account: bool = False) -> UserView:
    """`demo_account`: one of the published demo accounts, exempt from the minimum password length
    and refused unless demo_accounts_allowed(ctx)."""
    username = clean_text(username, "Username", MAX_USERNAME_INPUT)
    authorize(ctx, actor, Permission.USERS_MANAGE, "user.add", target=username)
    if not USERNAME.fullmatch(username):
        raise InvalidInput("A username is 2-64 characters: letters, digits, '.', '_', '@' or '-'.")
    parsed = parse_role(role)
    display_name = clean_text(display_name, "Display name", MAX_DISPLAY_NAME) or None
    email = clean_text(email, "E-mail", MAX_EMAIL) or None
    if demo_account and not demo_accounts_allowed(ctx):
        raise InvalidInput("Demo accounts exist only in demo mode on the embedded catalog (no DATABASE_URL); "
                           "add real accounts with `python -m control_plane users add`.")
    if password is not None:
        _check_password(password, minimum=1 if demo_account else MIN_PASSWORD)
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


def authenticate(ctx: AppContext, username: str, password: str, *, client: str | None = None,
                 policy: ThrottlePolicy = DEFAULT_POLICY) -> Actor | None:
    """Check a local password: the Actor, or None for wrong credentials (or a disabled account).
    Every attempt, good or bad, is audited. Raises InvalidInput for input out of bounds and
    SignInThrottled while the typed name or the `client` (an IP address or browser session; None:
    unknown, only the account is throttled) is locked after repeated failures."""
    now = ctx.clock()
    typed = printable(username or "", MAX_USERNAME_INPUT)  # what the audit log may hold of it
    who = Actor(name=typed or "?", role=Role.FOUNDER)
    client = printable(client, MAX_CLIENT) if client else None
    detail = {"client": client} if client else None
    problem = _sign_in_problem(username, password)
    name = "" if problem else username.strip()
    keys: list[throttle_queries.Key] = [("client", client)] if client else []
    if not problem:
        keys.append(("account", name.lower()))
    with ctx.session_factory() as session:
        states = throttle_queries.claim(session, keys, now, policy)
        wait = wait_left(states, now)
        if wait is not None:
            audit.record(session, who, "auth.sign_in", target=typed, outcome="denied", reason="throttled",
                         detail={**(detail or {}), "retry_after_s": _seconds(wait)})
            session.commit()
            raise SignInThrottled("Too many failed sign-ins for this user name or from this browser. "
                                  f"Try again in {_duration(wait)}.")
        if problem:
            throttle_queries.record_failure(session, keys, states, now, policy)
            audit.record(session, who, "auth.sign_in", target=typed, outcome="denied", reason=problem,
                         detail=detail)
            session.commit()
            raise InvalidInput(problem)
        user = session.scalar(select(User).where(func.lower(User.username) == name.lower()))
        # Exactly one argon2 verification on every path (unknown name, no password, disabled), so
        # the time taken does not tell whether the account exists.
        verified = verify_password(user.password_hash if user is not None else None, password)
        ok = verified and user is not None and not user.disabled
        actor = Actor(name=user.username, role=Role(user.role)) if user is not None else who
        if ok:
            assert user is not None
            user.last_login_at = now
            if needs_rehash(user.password_hash or ""):
                user.password_hash = hash_password(password)
            for key in keys:
                (throttle_queries.forget if key[0] == "account" else throttle_queries.forget_if_clean)(session, key)
        else:
            throttle_queries.record_failure(session, keys, states, now, policy)
        reason = None if ok else ("disabled" if user is not None and user.disabled and verified
                                  else "bad credentials")
        audit.record(session, actor if ok else who, "auth.sign_in", target=typed, outcome="ok" if ok else "denied",
                     reason=reason, detail=detail)
        session.commit()
        return actor if ok else None


def _sign_in_problem(username: object, password: object) -> str | None:
    """Why a sign-in attempt is refused before any lookup (bounds and control characters)."""
    if not isinstance(username, str) or not isinstance(password, str) or not username.strip() or not password:
        return "Enter a username and a password."
    if len(username) > MAX_USERNAME_INPUT:
        return f"A username has at most {MAX_USERNAME_INPUT} characters."
    if len(password) > MAX_PASSWORD:
        return f"A password has at most {MAX_PASSWORD} characters."
    try:
        clean_text(username, "Username", MAX_USERNAME_INPUT)
    except InvalidInput as exc:
        return str(exc)
    return None


def _check_password(password: str, *, minimum: int = MIN_PASSWORD) -> None:
    if not isinstance(password, str) or len(password) < minimum:
        raise InvalidInput(f"A password needs at least {minimum} characters.")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"A password has at most {MAX_PASSWORD} characters.")
    if "\x00" in password:
        raise InvalidInput("A password cannot contain a NUL character.")


def _seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))


def _duration(wait: timedelta) -> str:
    seconds = _seconds(wait)
    if seconds < 120:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def actor_for(ctx: AppContext, username: str) -> Actor | None:
    """The current role of an account (roles can change while someone is signed in)."""
    username = clean_text(username, "Username", MAX_USERNAME_INPUT)
    with ctx.session_factory() as session:
        user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if user is None or user.disabled:
            return None
        return Actor(name=user.username, role=Role(user.role))


def get_user(ctx: AppContext, username: str) -> UserView:
    username = clean_text(username, "Username", MAX_USERNAME_INPUT)
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
    username = clean_text(username, "Username", MAX_USERNAME_INPUT)
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
        # A new role means a new sign-in (docs/pages.md "The app"): no browser goes on with the old one.
        _revoke_sessions(session, actor, user, "role changed", ctx.clock())
        session.commit()
        return _view(user)


def set_disabled(ctx: AppContext, actor: Actor, username: str, disabled: bool) -> UserView:
    """Disable or enable an account; disabling revokes its sign-in sessions, so every browser
    signed in as it is signed out at its next action."""
    action = "user.disable" if disabled else "user.enable"
    username = clean_text(username, "Username", MAX_USERNAME_INPUT)
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
        if disabled:
            _revoke_sessions(session, actor, user, "account disabled", ctx.clock())
        session.commit()
        return _view(user)


def set_password(ctx: AppContext, actor: Actor, username: str, password: str) -> UserView:
    username = clean_text(username, "Username", MAX_USERNAME_INPUT)
    authorize(ctx, actor, Permission.USERS_MANAGE, "user.set_password", target=username)
    _check_password(password)
    with ctx.session_factory() as session:
        user = _get_locked(session, username)
        user.password_hash = hash_password(password)
        audit.record(session, actor, "user.set_password", target=user.username)  # never the password
        # A reset is often why the password changed (lost or leaked): no browser stays signed in.
        _revoke_sessions(session, actor, user, "password changed", ctx.clock())
        session.commit()
        return _view(user)


def actor_for_email(ctx: AppContext, email: str) -> Actor | None:
    """The account an OIDC identity maps to: same e-mail, or a username equal to the e-mail."""
    try:
        email = clean_text(email, "E-mail", MAX_EMAIL).lower()
    except InvalidInput:  # an identity provider's odd claim maps to no account
        return None
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
    email = printable(email or "", MAX_EMAIL)  # the identity provider's claim, stored only bounded
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


def _revoke_sessions(session, actor: Actor, user: User, reason: str, now: datetime) -> None:
    """End every sign-in session of `user` (control_plane/services/sessions.py) in the caller's
    transaction, audited when there was one: its browsers are signed out at their next action."""
    revoked = session_queries.revoke_for_user(session, user.id, now, reason)
    if revoked:
        audit.record(session, actor, "auth.session_revoke", target=user.username, reason=reason,
                     detail={"sessions": revoked})


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
