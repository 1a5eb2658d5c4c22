"""Sign-in sessions that survive a reload (docs/pages.md "The app"): the cookie's random id is stored only
hashed, sessions expire CP_SESSION_TTL_MINUTES after sign-in whatever the activity, sign-out,
disabling, role and password changes revoke them, and a cookie this server did not sign is refused."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from control_plane.auth import session_tokens
from control_plane.auth.permissions import Actor, Role
from control_plane.db.models import AuditEntry, SignInSession
from control_plane.errors import NotFound
from control_plane.services import sessions, users

ADMIN = Actor("boss", Role.ADMIN)
SAM = Actor("sam", Role.SUPPORT)
GOOD = "correct horse battery"




@pytest.fixture
def sam(ctx) -> str:
    users.add_user(ctx, ADMIN, "sam", "support", GOOD)
    return "sam"


def _start(ctx, name: str = "sam", **client):
    started = sessions.sign_in(ctx, name, GOOD, **client)
    assert started is not None
    return started


def _audit(ctx, action: str) -> list[AuditEntry]:
    with ctx.session_factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _row(ctx, session_id: int) -> SignInSession:
    with ctx.session_factory() as s:
        return s.get(SignInSession, session_id)


def test_the_raw_id_is_never_stored_only_its_sha256(ctx, clock, sam):
    started = _start(ctx, client="ip:192.0.2.7", user_agent="Mozilla/5.0 (test)")
    raw_id, signature = started.cookie.split(".")
    assert len(raw_id) == 43 and len(signature) == 43  # token_urlsafe(32), HMAC-SHA256
    row = _row(ctx, started.session.id)
    assert row.token_hash == hashlib.sha256(raw_id.encode()).hexdigest()
    assert (row.created_at, row.last_seen_at, row.revoked_at) == (clock.now, clock.now, None)
    assert row.expires_at == clock.now + timedelta(minutes=ctx.settings.session_ttl_minutes)
    assert (row.client, row.user_agent) == ("ip:192.0.2.7", "Mozilla/5.0 (test)")
    with ctx.engine.connect() as conn:  # nowhere in the catalog: not the sessions, not the audit log
        dump = conn.execute(text("SELECT string_agg(t::text, '|') FROM control_plane.sign_in_sessions t")).scalar()
        dump += conn.execute(text("SELECT string_agg(a::text, '|') FROM control_plane.audit_log a")).scalar()
    assert raw_id not in dump and signature not in dump and row.token_hash in dump
    [entry] = _audit(ctx, "auth.session_start")
    assert (entry.actor, entry.outcome, entry.detail["session"]) == ("sam", "ok", started.session.id)


def test_a_reload_resumes_the_session_and_last_seen_moves_at_most_once_a_minute(ctx, clock, sam):
    started = _start(ctx, client="ip:192.0.2.7")
    clock.advance(seconds=30)
    resumed = sessions.resume(ctx, started.cookie, client="ip:192.0.2.8")
    assert resumed.problem is None and resumed.session == started.session
    assert _row(ctx, started.session.id).last_seen_at == started.session.created_at  # 30 s: not written
    clock.advance(seconds=31)
    assert sessions.check(ctx, started.session.id).session.actor == Actor("sam", Role.SUPPORT)
    assert _row(ctx, started.session.id).last_seen_at == clock.now
    [entry] = _audit(ctx, "auth.session_resume")
    assert (entry.actor, entry.outcome, entry.detail) == ("sam", "ok", {"client": "ip:192.0.2.8",
                                                                        "session": started.session.id})


def test_expiry_is_the_ttl_from_sign_in_whatever_the_activity(ctx, clock, sam):
    started = _start(ctx)
    ttl = timedelta(minutes=ctx.settings.session_ttl_minutes)
    for _ in range(4):  # active all along: the end does not move
        clock.advance(seconds=ttl.total_seconds() / 4 - 1)
        assert sessions.check(ctx, started.session.id).session is not None
    clock.now = started.session.created_at + ttl
    assert sessions.check(ctx, started.session.id).problem == sessions.EXPIRED
    assert sessions.resume(ctx, started.cookie).problem == sessions.EXPIRED
    assert _audit(ctx, "auth.session_resume")[-1].reason == "expired"


def test_a_shorter_ttl_setting_is_honoured(ctx, clock, sam):
    short = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, session_ttl_minutes=5))
    started = _start(short)
    assert started.session.expires_at == clock.now + timedelta(minutes=5)
    clock.advance(minutes=5)
    assert sessions.check(short, started.session.id).problem == sessions.EXPIRED


def test_sign_out_revokes_the_session_everywhere(ctx, clock, sam):
    first = _start(ctx)
    other = _start(ctx)  # another browser of the same person
    sessions.end(ctx, SAM, [first.session.id])
    assert sessions.check(ctx, first.session.id).problem == sessions.REVOKED  # the other tab's next action
    assert sessions.resume(ctx, first.cookie).problem == sessions.REVOKED  # a reload
    assert sessions.check(ctx, other.session.id).session is not None  # that browser did not sign out
    row = _row(ctx, first.session.id)
    assert (row.revoked_at, row.revoked_reason) == (clock.now, "signed out")
    [entry] = _audit(ctx, "auth.sign_out")
    assert (entry.actor, entry.detail) == ("sam", {"sessions": [first.session.id]})


def test_sign_out_revokes_the_session_the_cookie_names_too(ctx, clock, sam):
    """The tab's session and the browser's cookie can name different sessions (another sign-in
    wrote the cookie): both end, so a kept copy of the cookie opens nothing."""
    users.add_user(ctx, ADMIN, "nina", "founder", GOOD)
    tab, held, nina, untouched = _start(ctx), _start(ctx), _start(ctx, "nina"), _start(ctx)
    assert sessions.end(ctx, SAM, [tab.session.id], cookie=held.cookie) == [tab.session.id, held.session.id]
    assert sessions.resume(ctx, held.cookie).problem == sessions.REVOKED  # the replayed cookie
    assert sessions.check(ctx, tab.session.id).problem == sessions.REVOKED
    assert sessions.check(ctx, untouched.session.id).session is not None
    sessions.end(ctx, SAM, [], cookie=nina.cookie)  # another account's cookie in this browser ends too
    assert sessions.resume(ctx, nina.cookie).problem == sessions.REVOKED
    assert [e.detail for e in _audit(ctx, "auth.sign_out")] == [
        {"sessions": [tab.session.id, held.session.id]}, {"sessions": [nina.session.id], "cookie_account": "nina"}]


@pytest.mark.parametrize("cookie", ["garbage", "x.y.z", "A" * 5000])
def test_a_forged_cookie_at_sign_out_revokes_nothing_more(ctx, clock, sam, cookie):
    tab, other = _start(ctx), _start(ctx)
    assert sessions.end(ctx, SAM, [tab.session.id], cookie=cookie) == [tab.session.id]
    assert sessions.check(ctx, other.session.id).session is not None


def test_sign_out_cannot_end_someone_elses_session(ctx, clock, sam):
    users.add_user(ctx, ADMIN, "nina", "founder", GOOD)
    nina = _start(ctx, "nina")
    sessions.end(ctx, SAM, [nina.session.id])
    assert sessions.check(ctx, nina.session.id).session is not None
    assert _audit(ctx, "auth.sign_out")[0].detail == {"sessions": []}


@pytest.mark.parametrize(("change", "reason", "problem"), [
    (lambda ctx: users.set_disabled(ctx, ADMIN, "sam", True), "account disabled", sessions.DISABLED),
    (lambda ctx: users.set_role(ctx, ADMIN, "sam", "founder"), "role changed", sessions.REVOKED),
    (lambda ctx: users.set_password(ctx, ADMIN, "sam", "a brand new password"), "password changed",
     sessions.REVOKED),
])
def test_account_changes_revoke_every_session_of_that_account(ctx, clock, sam, change, reason, problem):
    users.add_user(ctx, ADMIN, "nina", "founder", GOOD)
    mine = [_start(ctx) for _ in range(2)]
    hers = _start(ctx, "nina")
    clock.advance(seconds=5)
    change(ctx)
    for started in mine:
        assert sessions.check(ctx, started.session.id).problem == problem
        assert sessions.resume(ctx, started.cookie).session is None
        assert (_row(ctx, started.session.id).revoked_at, _row(ctx, started.session.id).revoked_reason) == (
            clock.now, reason)
    assert sessions.check(ctx, hers.session.id).session is not None
    [entry] = _audit(ctx, "auth.session_revoke")
    assert (entry.actor, entry.target, entry.reason) == ("boss", "sam", reason)
    assert sorted(entry.detail["sessions"]) == sorted(s.session.id for s in mine)


def test_enabling_again_does_not_bring_revoked_sessions_back(ctx, clock, sam):
    started = _start(ctx)
    users.set_disabled(ctx, ADMIN, "sam", True)
    users.set_disabled(ctx, ADMIN, "sam", False)
    assert sessions.check(ctx, started.session.id).problem == sessions.REVOKED


def test_no_session_without_the_password_or_for_a_disabled_account(ctx, clock, sam):
    assert sessions.sign_in(ctx, "sam", "wrong password!") is None
    users.set_disabled(ctx, ADMIN, "sam", True)
    assert sessions.sign_in(ctx, "sam", GOOD) is None
    with pytest.raises(NotFound, match="sign in again"):  # disabled between the password check and the start
        sessions._start(ctx, SAM, client=None, user_agent=None)
    with ctx.session_factory() as s:
        assert s.scalar(select(SignInSession.id)) is None


def _tampered(cookie: str, secret: bytes) -> dict[str, object]:
    raw_id, signature = cookie.split(".")
    flip = {"A": "B"}.get(raw_id[0], "A")
    stranger = session_tokens.new_session_id()
    return {
        "signature altered": f"{raw_id}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        "id altered, signature kept": f"{flip}{raw_id[1:]}.{signature}",
        "signature removed": raw_id,
        "signed with another secret": session_tokens.sign(b"x" * 48, raw_id),
        "an id this server never issued, signed with another secret": session_tokens.sign(b"y" * 48, stranger),
        "empty": "",
        "separator only": ".",
        "10,000 characters": "A" * 10_000,
        "non-ASCII": raw_id.replace(raw_id[0], "é", 1) + "." + signature,
        "NUL": raw_id + "\x00." + signature,
        "not text": 12345,
        "two signatures": f"{cookie}.{signature}",
    }


def test_a_tampered_or_forged_cookie_is_refused_before_any_lookup(ctx, clock, sam):
    started = _start(ctx)
    secret = sessions.cookie_secret(ctx)
    cases = _tampered(started.cookie, secret)
    for name, cookie in cases.items():
        result = sessions.resume(ctx, cookie, client="ip:198.51.100.9")
        assert (result.session, result.problem) == (None, sessions.FORGED), name
    refused = _audit(ctx, "auth.session_resume")
    assert len(refused) == len(cases)
    assert {(e.actor, e.outcome, e.reason, e.target) for e in refused} == {("?", "denied", "forged", None)}
    assert sessions.check(ctx, started.session.id).session is not None  # the real one still works


def test_a_well_signed_id_that_was_never_stored_is_unknown(ctx, clock, sam):
    cookie = session_tokens.sign(sessions.cookie_secret(ctx), session_tokens.new_session_id())
    assert sessions.resume(ctx, cookie).problem == sessions.UNKNOWN


def test_ended_sessions_are_forgotten_a_week_after_they_expired(ctx, clock, sam):
    old = _start(ctx)
    clock.advance(minutes=ctx.settings.session_ttl_minutes, days=7, seconds=1)
    _start(ctx)
    assert _row(ctx, old.session.id) is None
    assert sessions.check(ctx, old.session.id).problem == sessions.UNKNOWN
