"""Users page (admin): add, change role, disable/enable, set password; each with its effect in the catalog."""

from __future__ import annotations

from control_plane.auth.permissions import Actor, Role
from control_plane.services import users
from tests.ui.readable import assert_readable
from ui.text import plain

PAGE = "pages/users.py"
ADMIN = Actor("test", Role.ADMIN)


def test_lists_accounts(make_app, ctx):
    users.add_user(ctx, ADMIN, "fran", "founder", "pw-1234-long-enough", email="fran@example.com")
    at = make_app(PAGE, role="admin").run()
    table = at.dataframe[0].value
    assert set(table["Username"]) == {"admin-user", "fran"}
    assert table.set_index("Username").loc["fran", "Role"] == "founder"
    assert_readable(at)  # no "None" for a missing e-mail or a first sign-in still to come


def test_add_user(make_app, ctx):
    at = make_app(PAGE, role="admin").run()
    at.text_input(key="add_username").input("nina")
    at.selectbox(key="add_role").select("oncall")
    at.text_input(key="add_password").input("pw-5678-long-enough")
    at.button(key="FormSubmitter:add_user-Add user").click().run()
    assert not at.exception
    assert users.get_user(ctx, "nina").role == "oncall"
    assert users.authenticate(ctx, "nina", "pw-5678-long-enough") is not None
    assert "nina added" in at.success[0].value


def test_add_user_error_is_shown(make_app, ctx):
    at = make_app(PAGE, role="admin").run()
    at.text_input(key="add_username").input("x")
    at.button(key="FormSubmitter:add_user-Add user").click().run()
    assert plain("A username is 2-64 characters") in at.error[0].value  # shown as text


def test_change_role_needs_confirmation(make_app, ctx):
    users.add_user(ctx, ADMIN, "sam", "support", "pw-1234-long-enough")
    at = make_app(PAGE, role="admin").run()
    at.selectbox(key="manage_user").select("sam").run()
    at.selectbox(key="role_new_sam").select("founder")
    at.button(key="FormSubmitter:role_sam-Change role").click().run()
    assert "Tick the confirmation" in at.error[0].value
    assert users.get_user(ctx, "sam").role == "support"
    at.checkbox(key="role_confirm_sam").check()
    at.button(key="FormSubmitter:role_sam-Change role").click().run()
    assert users.get_user(ctx, "sam").role == "founder"


def test_disable_and_enable(make_app, ctx):
    users.add_user(ctx, ADMIN, "sam", "support", "pw-1234-long-enough")
    at = make_app(PAGE, role="admin").run()
    at.selectbox(key="manage_user").select("sam").run()
    at.checkbox(key="status_confirm_sam").check()
    at.button(key="FormSubmitter:status_sam-Disable user").click().run()
    assert users.get_user(ctx, "sam").disabled
    assert users.authenticate(ctx, "sam", "pw-1234-long-enough") is None
    at.checkbox(key="status_confirm_sam").check()
    at.button(key="FormSubmitter:status_sam-Enable user").click().run()
    assert not users.get_user(ctx, "sam").disabled


def test_admin_cannot_disable_themselves(make_app, ctx):
    at = make_app(PAGE, role="admin").run()
    at.selectbox(key="manage_user").select("admin-user").run()
    at.checkbox(key="status_confirm_admin-user").check()
    at.button(key="FormSubmitter:status_admin-user-Disable user").click().run()
    assert "cannot disable your own account" in at.error[0].value
    assert not users.get_user(ctx, "admin-user").disabled


def test_set_password(make_app, ctx):
    users.add_user(ctx, ADMIN, "sam", "support", "pw-1234-long-enough")
    at = make_app(PAGE, role="admin").run()
    at.selectbox(key="manage_user").select("sam").run()
    at.text_input(key="password_new_sam").input("new-pass-long-enough")
    at.button(key="FormSubmitter:password_sam-Set password").click().run()
    assert users.authenticate(ctx, "sam", "new-pass-long-enough") is not None
