"""An internal app makes no request outside the machine it is served from: every page, for the
role that sees them all, loads only from the app's own server (issue 18: the page icon was fetched
from a public font host)."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.e2e.helpers import heading, open_page, settled, sign_in
from tests.e2e.test_browser import PASSWORD, add_accounts
from ui.navigation import PAGES

LOCAL_SCHEMES = {"data", "blob", "about", "chrome", "chrome-extension"}


def test_every_page_loads_only_from_the_app_itself(app_server, page, ctx):
    add_accounts(ctx)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, app_server.url, "admin", PASSWORD)
    heading(page, "Overview")
    for spec in PAGES:
        open_page(page, spec.title)
        settled(page)
    own = urlsplit(app_server.url).netloc
    outside = sorted({url for url in requested
                      if urlsplit(url).scheme not in LOCAL_SCHEMES and urlsplit(url).netloc != own})
    assert len(requested) > 10
    assert outside == []
