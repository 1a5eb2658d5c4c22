"""Sign-in sessions that survive a browser reload (docs/pages.md "Staying signed in across reloads").

A password sign-in starts a server-side session: a random id that the browser keeps in a signed
cookie (control_plane/auth/session_tokens.py) and the catalog keeps only as a SHA-256, with the
account, when it started, when it expires (CP_SESSION_TTL_MINUTES after sign-in, whatever the
activity), when it was last seen, and whether it was revoked. A new Streamlit session (a reload, a
second tab) resumes it from the cookie; every run of a page or fragment checks it again (`check`),
so a sign-out in another tab, a disabled account or a role change ends it at the next action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from control_plane.auth import session_queries, session_secret, session_tokens
from control_plane.auth.permissions import Actor, Role
from control_plane.auth.session_queries import SessionRow
from control_plane.auth.throttle import DEFAULT_POLICY, ThrottlePolicy
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.db.models import User
from control_plane.domain.text import printable
from control_plane.errors import NotFound
from control_plane.services import users

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per session
KEEP_ENDED = timedelta(days=7)  # an expired session's row is forgotten this long after it expired
MAX_CLIENT = 80
MAX_USER_AGENT = 256

# Why a session no longer signs anyone in (SessionCheck.problem).
EXPIRED, REVOKED, DISABLED, UNKNOWN, FORGED = "expired", "revoked", "disabled", "unknown", "forged"


@dataclass(frozen=True)
class SignedInSession:
    id: int
    actor: Actor  # the account's current role, read with the session
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class StartedSession:
    session: SignedInSession
    cookie: str  # the signed cookie for the browser: the only place the raw id ever exists


@dataclass(frozen=True)
class SessionCheck:
    session: SignedInSession | None
    problem: str | None = None  # one of EXPIRED, REVOKED, DISABLED, UNKNOWN, FORGED when session is None


def cookie_secret(ctx: AppContext) -> bytes:
    return session_secret.resolve(ctx.settings)


def sign_in(ctx: AppContext, username: str, password: str, *, client: str | None = None,
            user_agent: str | None = None, policy: ThrottlePolicy = DEFAULT_POLICY) -> StartedSession | None:
    """A password sign-in (users.authenticate: bounded, throttled, audited) that starts a session;
    None for wrong credentials. Raises what authenticate raises, and NotFound when the account was
    disabled between the password check and the session's start."""
    actor = users.authenticate(ctx, username, password, client=client, policy=policy)
    return None if actor is None else _start(ctx, actor, client=client, user_agent=user_agent)


def _start(ctx: AppContext, actor: Actor, *, client: str | None, user_agent: str | None) -> StartedSession:
    """Start a session for an account that has just proved its password."""
    secret = cookie_secret(ctx)  # before writing anything: no secret, no session
    now = ctx.clock()
    session_id = session_tokens.new_session_id()
    client = printable(client, MAX_CLIENT) if client else None
    user_agent = printable(user_agent, MAX_USER_AGENT) if user_agent else None
    with ctx.session_factory() as session:
        user = session.scalar(select(User).where(User.username == actor.name))
        if user is None or user.disabled:
            raise NotFound(f"No enabled account {actor.name!r}; sign in again.")
        expires_at = now + timedelta(minutes=ctx.settings.session_ttl_minutes)
        row_id = session_queries.create(session, token_hash=session_tokens.token_hash(session_id),
                                        user_id=user.id, now=now, expires_at=expires_at, client=client,
                                        user_agent=user_agent)
        session_queries.prune(session, now - KEEP_ENDED)
        current = Actor(user.username, Role(user.role))
        audit.record(session, current, "auth.session_start", target=user.username,
                     detail={"session": row_id, "expires_at": expires_at.isoformat(), "client": client})
        session.commit()
    return StartedSession(SignedInSession(row_id, current, now, expires_at),
                          session_tokens.sign(secret, session_id))


def resume(ctx: AppContext, cookie: object, *, client: str | None = None) -> SessionCheck:
    """Sign in a new Streamlit session (a reload, another tab) from the browser's cookie: refused
    when the signature is wrong (no lookup at all), or the session is unknown, expired, revoked or
    its account disabled. Every attempt is audited."""
    now = ctx.clock()
    client = printable(client, MAX_CLIENT) if client else None
    session_id = session_tokens.unsign(cookie_secret(ctx), cookie)
    with ctx.session_factory() as session:
        row = (session_queries.by_token_hash(session, session_tokens.token_hash(session_id))
               if session_id is not None else None)
        problem = FORGED if session_id is None else _problem(row, now)
        detail = {"client": client, **({"session": row.id} if row else {})}
        if problem is not None:
            who = Actor(row.username, Role(row.role)) if row else Actor("?", Role.FOUNDER)
            audit.record(session, who, "auth.session_resume", target=row.username if row else None,
                         outcome="denied", reason=problem, detail=detail)
            session.commit()
            return SessionCheck(None, problem)
        assert row is not None
        session_queries.touch(session, row.id, now, TOUCH_EVERY)
        audit.record(session, _actor(row), "auth.session_resume", target=row.username, detail=detail)
        session.commit()
        return SessionCheck(_signed_in(row))


def check(ctx: AppContext, session_id: int) -> SessionCheck:
    """Is this session still good (every page and fragment run)? Reads the account's current role
    and status with it, and records activity at most once a minute."""
    now = ctx.clock()
    with ctx.session_factory() as session:
        row = session_queries.by_id(session, session_id)
        problem = _problem(row, now)
        if problem is not None:
            return SessionCheck(None, problem)
        assert row is not None
        if now - row.last_seen_at >= TOUCH_EVERY:  # most runs: one SELECT, no write, no commit
            session_queries.touch(session, row.id, now, TOUCH_EVERY)
            session.commit()
        return SessionCheck(_signed_in(row))


def end(ctx: AppContext, actor: Actor, session_ids: list[int], *, cookie: object = None) -> list[int]:
    """Sign out: revoke the sessions this browser holds, audited as the sign-out; their ids.

    `session_ids` are the tab's own sessions (only the signing-out account's are revoked: an id
    proves nothing). `cookie` is the cookie the browser sent: when its signature holds, the session
    it names is revoked too, whoever's it is (holding the cookie is what signs into it), so a copy
    of it kept or replayed after the sign-out opens nothing. A session of another account revoked
    that way is named in the entry's detail."""
    now = ctx.clock()
    cookie_id = session_tokens.unsign(cookie_secret(ctx), cookie) if cookie else None
    with ctx.session_factory() as session:
        mine = [i for i in dict.fromkeys(session_ids)
                if (row := session_queries.by_id(session, i)) is not None and row.username == actor.name]
        detail: dict[str, object] = {}
        held = session_queries.by_token_hash(session, session_tokens.token_hash(cookie_id)) if cookie_id else None
        if held is not None and held.id not in mine:
            mine.append(held.id)
            if held.username != actor.name:
                detail["cookie_account"] = held.username
        revoked = session_queries.revoke(session, mine, now, "signed out")
        audit.record(session, actor, "auth.sign_out", target=actor.name, detail={"sessions": revoked, **detail})
        session.commit()
    return revoked


def _problem(row: SessionRow | None, now: datetime) -> str | None:
    if row is None:
        return UNKNOWN
    if row.disabled:  # first: disabling also revokes, and "disabled" is what the person needs to hear
        return DISABLED
    if row.revoked_at is not None:
        return REVOKED
    if now >= row.expires_at:
        return EXPIRED
    return None


def _actor(row: SessionRow) -> Actor:
    return Actor(row.username, Role(row.role))


def _signed_in(row: SessionRow) -> SignedInSession:
    return SignedInSession(row.id, _actor(row), row.created_at, row.expires_at)
