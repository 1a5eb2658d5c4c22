"""One tenant moved online in Chromium (docs/moves.md, ui/tenant_move.py): an admin opens the
tenant, picks the second real PostgreSQL server as target, sees that the move can run online, types
the slug and starts it; the app's server drives the move in a thread, the progress refreshes by
itself and the page ends on the tenant living on the new cluster with the move in its history. The
catalog and the target server agree."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from control_plane.adapters.tenant_context import tenant_session
from control_plane.moves import service as moves
from control_plane.services import tenants
from tests.conftest import CLUSTER_B_URL_ENV
from tests.e2e.helpers import settled, sign_in
from tests.e2e.server import Server, start_server
from tests.e2e.test_browser import PASSWORD, add_accounts
from tests.e2e.test_user_text_browser import open_tenant
from tests.factories import OPERATOR, make_tenant
from tests.polling import READY_SECONDS

HISTORY_ROWS = '[data-testid="stDataFrame"] table tbody tr'


def pick(page: Page, label: str, option: str, timeout_s: float = READY_SECONDS) -> None:
    """Choose `option` in the selectbox `label`. Its list closes again when the page shifts under it
    (the table above it draws late), so open it until the option can be clicked, up to a deadline."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label)
    deadline = time.monotonic() + timeout_s
    while True:
        box.scroll_into_view_if_needed()
        box.locator("input").click()
        try:
            page.get_by_role("option").filter(has_text=option).first.click(timeout=3_000)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise


@pytest.fixture(scope="module")
def move_server(server_env, _cluster_b_database) -> Iterator[Server]:
    """The app's server with the second cluster's URL in its environment, as an operator sets it."""
    server = start_server({**server_env, CLUSTER_B_URL_ENV: _cluster_b_database})
    yield server
    server.stop()


def test_an_admin_moves_a_tenant_online_from_its_page(move_server, page: Page, ctx, cluster_b, new_slug):
    add_accounts(ctx)
    slug = new_slug("mvweb")
    make_tenant(ctx, slug, name="Moving Browser Co")
    with tenant_session(ctx.clusters.pool(None, slug), slug) as conn:
        conn.execute("INSERT INTO users (email, full_name) VALUES ('before@move.test', 'Before Move')")

    sign_in(page, move_server.url, "admin", PASSWORD)
    open_tenant(page, slug)
    expect(page.locator("h1").filter(has_text="Moving Browser Co")).to_be_visible()
    page.locator('[data-testid="stExpander"] summary').filter(has_text="Move to another cluster").click()
    pick(page, "Target cluster", "b")
    settled(page)
    expect(page.get_by_text("Online move possible")).to_be_visible()
    page.get_by_role("textbox", name=f"Type {slug} to confirm").fill(slug)
    page.get_by_role("button", name="Start move").click()
    settled(page)
    expect(page.get_by_text("started (online)")).to_be_visible()

    # The progress fragment refreshes every 2 s; when the move ends it redraws the whole page.
    expect(page.locator(HISTORY_ROWS).filter(has_text="completed")).to_have_count(1, timeout=120_000)
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Cluster")).to_contain_text("b")
    assert page.locator('[data-testid="stException"]').count() == 0

    done = moves.current(ctx, OPERATOR, slug)
    assert (done.status, done.mode, done.created_by) == ("completed", "online", "admin")
    assert done.writes_blocked_ms is not None
    assert tenants.show(ctx, OPERATOR, slug).cluster == "b"
    with tenant_session(ctx.clusters.pool(CLUSTER_B_URL_ENV, slug), slug) as conn:
        assert conn.execute("SELECT full_name FROM users WHERE email = 'before@move.test'").fetchone()[0] == \
            "Before Move"
