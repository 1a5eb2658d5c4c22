"""Browser tests: a real `streamlit run` server on the test catalog, driven by Chromium.

`app_server` is shared by the session; `fresh_server` is started for a test that must be the
first visitor (deep links before anyone loaded "/")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.server import Server, launch_chromium, start_server
from tests.polling import READY_MS

# Playwright's assertions (`expect`) wait 5 s by default, whatever the context's timeout: on a busy
# machine a rerun can take longer than that (a sign-in heading once did). One default for both.
expect.set_options(timeout=READY_MS)


@pytest.fixture(scope="session")
def server_env(database_url: str, tmp_path_factory) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "CP_DEMO": "0", "CP_RUN_SCHEDULER_IN_APP": "0",
            "CP_DATA_DIR": str(tmp_path_factory.mktemp("e2e-data")),
            "CP_SESSION_SECRET": "e2e-tests-" + "4b8e2f6a0c9d3e7b1a5f8c2d6e0a4b9f"}  # required with DATABASE_URL


@pytest.fixture(scope="session")
def app_server(server_env) -> Iterator[Server]:
    server = start_server(server_env)
    yield server
    server.stop()


@pytest.fixture
def fresh_server(server_env) -> Iterator[Server]:
    server = start_server(server_env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(READY_MS)
    page = context.new_page()
    yield page
    context.close()
