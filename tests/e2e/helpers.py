"""What a person does in the browser: wait for a rerun to finish, sign in, open a page."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.polling import READY_SECONDS

NAV_LINK = '[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]'


def settled(page: Page) -> None:
    """The app is loaded and no script run is in progress."""
    page.locator('[data-testid="stApp"]').wait_for()
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")


def heading(page: Page, text: str) -> None:
    expect(page.locator("h1").filter(has_text=text).first).to_be_visible()


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(base_url + "/")
    heading(page, "Sign in")
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.locator(NAV_LINK).first.wait_for()
    settled(page)


def nav_titles(page: Page) -> list[str]:
    # A link's text is "<icon ligature>\n\n<title>": keep the title.
    return [t.strip().splitlines()[-1].strip() for t in page.locator(NAV_LINK).all_inner_texts()]


def open_page(page: Page, title: str) -> None:
    page.locator(NAV_LINK).filter(has_text=title).first.click()
    heading(page, title)
    settled(page)


def eventually(check: Callable[[], bool], timeout: float = READY_SECONDS, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
