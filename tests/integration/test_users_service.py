"""Users service: admin-only management, audited, never leaving the catalog without an admin."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from control_plane.auth.permissions import Actor, Role
from control_plane.db.models import AuditEntry
from control_plane.errors import Conflict, Forbidden, InvalidInput, NotFound
from control_plane.services import users

ADMIN = Actor("boss", Role.ADMIN)


def _entries(ctx, action):
    with ctx.session_factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.fixture
def boss(ctx):
    users.add_user(ctx, ADMIN, "boss", "admin", "pw-1234-long-enough")
    return ADMIN


def test_list_is_admin_only_and_refusal_is_audited(ctx, boss, support):
    assert [u.username for u in users.list_users(ctx, boss)] == ["boss"]
    with pytest.raises(Forbidden, match="not allowed"):
        users.list_users(ctx, support)
    assert _entries(ctx, "user.list")[0].outcome == "denied"


@pytest.mark.parametrize("role", ["founder", "support", "oncall"])
def test_only_admin_manages_users(ctx, boss, role):
    actor = Actor("someone", Role(role))
    for call in (lambda: users.add_user(ctx, actor, "x1", "admin", "pw-1234-long-enough"),
                 lambda: users.set_role(ctx, actor, "boss", "founder"),
                 lambda: users.set_disabled(ctx, actor, "boss", True),
                 lambda: users.set_password(ctx, actor, "boss", "pw-9999-long-enough")):
        with pytest.raises(Forbidden):
            call()
    assert users.get_user(ctx, "boss").role == "admin"
    assert {e.outcome for e in _entries(ctx, "user.set_role")} == {"denied"}


def test_set_role_is_audited_with_before_and_after(ctx, boss):
    users.add_user(ctx, boss, "sam", "support", "pw-1234-long-enough")
    users.set_role(ctx, boss, "SAM", "oncall")
    assert users.get_user(ctx, "sam").role == "oncall"
    entry = _entries(ctx, "user.set_role")[-1]
    assert (entry.actor, entry.before, entry.after) == ("boss", {"role": "support"}, {"role": "oncall"})
    users.set_role(ctx, boss, "sam", "oncall")
    assert _entries(ctx, "user.set_role")[-1].outcome == "noop"


def test_unknown_role_and_user(ctx, boss):
    with pytest.raises(InvalidInput, match="Unknown role 'owner'"):
        users.set_role(ctx, boss, "boss", "owner")
    with pytest.raises(NotFound, match="No user 'ghost'"):
        users.set_disabled(ctx, boss, "ghost", True)


def test_last_admin_is_kept(ctx, boss):
    users.add_user(ctx, boss, "other", "admin", "pw-1234-long-enough")
    other = Actor("other", Role.ADMIN)
    with pytest.raises(InvalidInput, match="own account"):
        users.set_disabled(ctx, boss, "boss", True)
    users.set_disabled(ctx, other, "boss", True)  # another admin remains: allowed
    with pytest.raises(Conflict, match="last enabled admin"):
        users.set_role(ctx, other, "other", "founder")
    users.set_disabled(ctx, other, "boss", False)
    users.set_role(ctx, other, "other", "founder")
    assert users.get_user(ctx, "other").role == "founder"


def test_disabled_account_cannot_sign_in_and_loses_its_session(ctx, boss):
    users.add_user(ctx, boss, "sam", "support", "pw-1234-long-enough")
    assert users.authenticate(ctx, "sam", "pw-1234-long-enough") == Actor("sam", Role.SUPPORT)
    users.set_disabled(ctx, boss, "sam", True)
    assert users.authenticate(ctx, "sam", "pw-1234-long-enough") is None
    assert users.actor_for(ctx, "sam") is None
    denied = _entries(ctx, "auth.sign_in")[-1]
    assert (denied.outcome, denied.reason) == ("denied", "disabled")


def test_set_password_never_logs_it(ctx, boss):
    users.add_user(ctx, boss, "sam", "support", "pw-1234-long-enough")
    users.set_password(ctx, boss, "sam", "fresh-pw-long-enough")
    assert users.authenticate(ctx, "sam", "fresh-pw-long-enough") is not None
    entry = _entries(ctx, "user.set_password")[0]
    assert "fresh-pw-long-enough" not in str((entry.before, entry.after, entry.detail, entry.reason))
    with pytest.raises(InvalidInput, match="at least"):
        users.set_password(ctx, boss, "sam", "abc")


def test_oidc_identity_maps_by_email_or_username(ctx, boss):
    users.add_user(ctx, boss, "olga", "oncall", None, email="Olga@Example.com")
    users.add_user(ctx, boss, "fred@example.com", "founder", None)
    assert users.actor_for_email(ctx, "olga@example.com") == Actor("olga", Role.ONCALL)
    assert users.actor_for_email(ctx, "FRED@example.com") == Actor("fred@example.com", Role.FOUNDER)
    assert users.actor_for_email(ctx, "nobody@example.com") is None
    users.set_disabled(ctx, boss, "olga", True)
    assert users.actor_for_email(ctx, "olga@example.com") is None
