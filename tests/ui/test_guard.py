import pytest


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/tenants.py", "pages/revenue.py", "pages/users.py"])
def test_signed_out_page_shows_sign_in(make_app, page):
    at = make_app(page).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]


def test_founder_cannot_open_users(make_app):
    at = make_app("pages/users.py", role="founder").run()
    assert "cannot open this page" in at.error[0].value
