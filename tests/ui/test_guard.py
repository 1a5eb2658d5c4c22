"""Every page file guards itself: signed out -> the sign-in page; a role without the permission ->
refused before anything else renders. Checked for every page file and every role."""

import pytest

from control_plane.auth.permissions import Actor, Role
from control_plane.services import users
from ui.navigation import PAGES

ROLES = [r.value for r in Role]
MINE = {"pages/overview.py", "pages/tenants.py", "pages/audit.py", "pages/users.py"}


def test_every_page_file_is_in_the_navigation_table():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    assert {f"pages/{p.name}" for p in (root / "pages").glob("*.py")} == {p.path for p in PAGES}


@pytest.mark.parametrize("page", [p.path for p in PAGES])
def test_signed_out_page_shows_sign_in(make_app, ctx, page):
    users.add_user(ctx, Actor("test", Role.ADMIN), "someone", "support", "pw-1234-long-enough")
    at = make_app(page).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert not at.dataframe and not at.metric and not at.table


@pytest.mark.parametrize("page", [p.path for p in PAGES])
def test_signed_out_page_without_accounts_says_how_to_add_one(make_app, page):
    at = make_app(page).run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert at.subheader[0].value == "No accounts yet"


@pytest.mark.parametrize(("page", "role"), [(p.path, r) for p in PAGES for r in ROLES
                                            if not Actor("x", Role(r)).can(p.permission)])
def test_role_without_permission_is_refused(make_app, page, role):
    at = make_app(page, role=role).run()
    assert [t.value for t in at.title] == ["Not allowed"]
    assert "cannot open this page" in at.error[0].value
    assert len(at.main.children) <= 2  # title and error, nothing of the page


@pytest.mark.parametrize(("page", "role"), [(p.path, r) for p in PAGES for r in ROLES
                                            if p.path in MINE and Actor("x", Role(r)).can(p.permission)])
def test_role_with_permission_sees_the_page(make_app, page, role):
    at = make_app(page, role=role).run()
    assert not at.exception, at.exception
    assert at.title[0].value not in ("Sign in", "Not allowed")
