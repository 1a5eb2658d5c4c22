"""Sign-in hardening (docs/security.md "Sign-in"): bounded input, one argon2 check whatever the account,
throttling per account name and per client stored in the catalog, every attempt audited."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from control_plane.auth import passwords
from control_plane.auth.permissions import Actor, Role
from control_plane.context import AppContext
from control_plane.db.engine import make_engine, make_session_factory
from control_plane.db.models import AuditEntry, SignInThrottle, User
from control_plane.errors import InvalidInput
from control_plane.services import users
from control_plane.services.users import SignInThrottled

ADMIN = Actor("boss", Role.ADMIN)
GOOD = "correct horse battery"




class CountingHasher:
    """The real argon2 hasher, counting verifications (a spy, not a stand-in)."""

    def __init__(self, real) -> None:
        self.real, self.verifies = real, 0

    def verify(self, hash_: str, password: str) -> bool:
        self.verifies += 1
        return self.real.verify(hash_, password)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def sam(ctx):
    users.add_user(ctx, ADMIN, "sam", "support", GOOD)
    return "sam"


def _sign_ins(ctx) -> list[AuditEntry]:
    with ctx.session_factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "auth.sign_in").order_by(AuditEntry.id)))


def _fail(ctx, name: str, client: str | None, times: int) -> None:
    for _ in range(times):
        assert users.authenticate(ctx, name, "wrong password!", client=client) is None


# --- minimum length ------------------------------------------------------------------------

def test_passwords_need_12_characters(ctx, sam):
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        users.add_user(ctx, ADMIN, "nina", "founder", "eleven-char")
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        users.set_password(ctx, ADMIN, "sam", "short-pw")
    with pytest.raises(InvalidInput, match="at most 1024"):
        users.set_password(ctx, ADMIN, "sam", "x" * 1025)
    users.add_user(ctx, ADMIN, "nina", "founder", "twelve-chars")
    assert users.authenticate(ctx, "nina", "twelve-chars") is not None


def test_demo_accounts_only_on_the_embedded_demo_catalog(ctx, pg_server):
    with pytest.raises(InvalidInput, match="embedded catalog"):
        users.add_user(ctx, ADMIN, "founder", "founder", "demo", demo_account=True)
    embedded = dataclasses.replace(ctx, embedded_server=pg_server)
    users.add_user(embedded, ADMIN, "founder", "founder", "demo", demo_account=True)
    assert users.authenticate(ctx, "founder", "demo").role == Role.FOUNDER
    not_demo = dataclasses.replace(embedded, settings=dataclasses.replace(ctx.settings, demo=False))
    with pytest.raises(InvalidInput, match="embedded catalog"):
        users.add_user(not_demo, ADMIN, "support", "support", "demo", demo_account=True)


# --- same work whether or not the account exists -------------------------------------------

def test_one_argon2_verification_on_every_path(ctx, sam, monkeypatch):
    users.add_user(ctx, ADMIN, "sso-only", "founder", None, email="sso@example.com")
    users.add_user(ctx, ADMIN, "gone", "founder", GOOD)
    users.set_disabled(ctx, ADMIN, "gone", True)
    spy = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", spy)
    for name, password, expected in (("sam", "wrong password!", None), ("no-such-user", "wrong password!", None),
                                     ("sso-only", "wrong password!", None), ("gone", GOOD, None),
                                     ("sam", GOOD, "sam")):
        before = spy.verifies
        actor = users.authenticate(ctx, name, password, client="ip:192.0.2.1")
        assert spy.verifies - before == 1, name
        assert (actor.name if actor else None) == expected


# --- bounded input -------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "password", "message"), [
    ("x" * 6000, "whatever-password", "at most 128 characters"),
    ("sam\x00", "whatever-password", "control character"),
    ("sam", "p" * 1025, "at most 1024 characters"),
    ("\u202esam", "whatever-password", "control character"),
])
def test_input_out_of_bounds_is_refused_before_any_lookup_and_audited(ctx, sam, clock, name, password, message):
    with pytest.raises(InvalidInput, match=message):
        users.authenticate(ctx, name, password, client="ip:192.0.2.7")
    entry = _sign_ins(ctx)[-1]
    assert entry.outcome == "denied" and message in entry.reason
    assert len(entry.actor) <= 128 and len(entry.target) <= 128 and "\x00" not in entry.actor
    assert entry.detail == {"client": "ip:192.0.2.7"}


# --- throttling ----------------------------------------------------------------------------

def test_account_is_throttled_after_five_failures_from_any_client(ctx, sam, clock):
    for i in range(5):
        _fail(ctx, "sam", f"ip:198.51.100.{i}", 1)
    with pytest.raises(SignInThrottled, match="Try again in 30 seconds"):
        users.authenticate(ctx, "SAM", GOOD, client="ip:203.0.113.9")  # even the right password waits
    throttled = _sign_ins(ctx)[-1]
    assert (throttled.actor, throttled.outcome, throttled.reason) == ("SAM", "denied", "throttled")
    assert throttled.detail == {"client": "ip:203.0.113.9", "retry_after_s": 30}
    clock.advance(seconds=31)
    assert users.authenticate(ctx, "sam", GOOD, client="ip:203.0.113.9") == Actor("sam", Role.SUPPORT)
    with ctx.session_factory() as s:  # success forgets the account's failures
        assert s.scalar(select(func.count()).select_from(SignInThrottle)
                        .where(SignInThrottle.scope == "account")) == 0


def test_unknown_names_are_throttled_the_same_way(ctx, sam, clock):
    """The answer must not tell which names exist: a made-up name locks exactly like a real one."""
    for name in ("sam", "ghost"):
        for i in range(5):
            _fail(ctx, name, f"ip:198.51.100.{i}", 1)
    messages = []
    for name in ("sam", "ghost"):
        with pytest.raises(SignInThrottled) as caught:
            users.authenticate(ctx, name, "wrong password!", client="ip:203.0.113.1")
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_lock_doubles_then_is_forgotten_after_a_quiet_window(ctx, sam, clock):
    _fail(ctx, "sam", None, 5)  # locked 30 s
    clock.advance(seconds=30)
    _fail(ctx, "sam", None, 1)  # 6th failure: locked 60 s
    clock.advance(seconds=59)
    with pytest.raises(SignInThrottled, match="in 1 second"):
        users.authenticate(ctx, "sam", GOOD)
    clock.advance(seconds=1 + 15 * 60)  # lock over and a whole window quiet: the count restarts
    _fail(ctx, "sam", None, 4)
    assert users.authenticate(ctx, "sam", GOOD) is not None


def test_client_is_throttled_across_account_names(ctx, sam, clock):
    for i in range(5):
        _fail(ctx, f"guess{i}", "ip:203.0.113.66", 1)
    with pytest.raises(SignInThrottled):
        users.authenticate(ctx, "sam", GOOD, client="ip:203.0.113.66")
    assert users.authenticate(ctx, "sam", GOOD, client="ip:203.0.113.67") is not None  # another client
    assert [e.reason for e in _sign_ins(ctx)][-2:] == ["throttled", None]


def test_throttle_holds_across_app_processes(ctx, sam, clock, database_url):
    """The count lives in the catalog: a second process (own engine and pool) sees the lock."""
    _fail(ctx, "sam", "ip:203.0.113.5", 5)
    engine = make_engine(database_url)
    try:
        other = AppContext(settings=ctx.settings, engine=engine, session_factory=make_session_factory(engine),
                           clusters=ctx.clusters, aws=ctx.aws, catalog_url=database_url, clock=clock)
        with pytest.raises(SignInThrottled):
            users.authenticate(other, "sam", GOOD, client="ip:203.0.113.99")
    finally:
        engine.dispose()


def test_failed_attempts_are_audited_without_the_password(ctx, sam, clock):
    _fail(ctx, "sam", "ip:203.0.113.5", 1)
    entry = _sign_ins(ctx)[-1]
    assert (entry.actor, entry.outcome, entry.reason) == ("sam", "denied", "bad credentials")
    assert "wrong password" not in str((entry.before, entry.after, entry.detail, entry.reason))
    with ctx.session_factory() as s:
        assert s.scalar(select(User.last_login_at).where(User.username == "sam")) is None


# --- command line --------------------------------------------------------------------------

def test_cli_users_add_refuses_a_short_password(cli, ctx, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("eleven-char\n"))
    code, out, err = cli("users", "add", "nina", "--role", "support", "--password-stdin")
    assert (code, out) == (2, "") and err.count("\n") == 1 and "at least 12 characters" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("twelve-chars\n"))
    assert cli("users", "add", "nina", "--role", "support", "--password-stdin")[0] == 0


def test_cli_demo_accounts_refused_with_database_url(cli, ctx):
    code, _, err = cli("demo", "seed", "--tenants", "1", "--months", "1", "--accounts")
    assert code == 2 and "only in demo mode on the embedded catalog" in err and err.count("\n") == 1
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count(User.id))) == 0


def test_a_parallel_burst_gets_one_guess_once_the_limit_is_near(ctx, sam, clock):
    """Attempts on one name are serialised by the catalog row lock: with 4 failures counted, 8
    simultaneous guesses get exactly one password check; the other 7 find the lock."""
    import threading

    _fail(ctx, "sam", None, 4)
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def guess(i: int) -> None:
        start.wait()
        try:
            users.authenticate(ctx, "sam", f"guess number {i}", client=f"ip:198.51.100.{i}")
            outcomes.append("checked")
        except SignInThrottled:
            outcomes.append("throttled")

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["checked"] + ["throttled"] * 7


def test_expired_rows_are_forgotten(ctx, sam, clock):
    for i in range(3):
        _fail(ctx, f"typo{i}", f"ip:192.0.2.{i}", 1)
    clock.advance(minutes=16)
    _fail(ctx, "sam", None, 1)
    with ctx.session_factory() as s:
        assert s.execute(select(SignInThrottle.scope, SignInThrottle.key)).all() == [("account", "sam")]
