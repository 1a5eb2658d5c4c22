"""The Migrations page with a 2,000-tenant run in progress: its script time (AppTest), then the
page in Chromium (target: rendered within 1.5 s).

    .venv/bin/python bench/migrations_page.py [--tenants 2000] [--rounds 7] [--no-browser]

A fresh embedded catalog with N tenants below the latest version (catalog rows: the page reads
only the catalog), a run planned over all of them, soaking in wave 2 with half its results
applied. Then:
1. AppTest: the page script run as an admin `--rounds` times (server side only).
2. Chromium (tests/e2e/server.py: a real `streamlit run` on that catalog, signed in as an admin
   through the sign-in form): `--rounds` loads of /migrations, each timed from navigation until
   the page's content is visible (the title, the run's heading, the versions chart drawn, the
   results table with its rows, the start form) and the script run has finished; and as many menu
   clicks to Migrations, timed the same way. Both alternate with the same measure of the app's
   lightest page (Users: a title and a table), the floor of a page in this app and browser. The
   first load (the server's imports) is shown apart. Median and worst are printed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from bench.aws_common import catalog  # noqa: E402
from bench.fleet_migrations import INSERT_TENANT  # noqa: E402
from bench.ui_render import summary, timed  # noqa: E402
from control_plane.adapters.clusters import libpq_url  # noqa: E402
from control_plane.auth.permissions import system_actor  # noqa: E402
from control_plane.fleet import service  # noqa: E402
from control_plane.fleet.options import Options  # noqa: E402
from control_plane.services import users  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-browser", action="store_true", help="only the AppTest (script time) figure")
    args = parser.parse_args()
    ctx = catalog()
    actor = system_actor("bench")
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as raw:
        with raw.transaction(), raw.cursor() as cur:
            cur.executemany(INSERT_TENANT, [(f"p{i:05d}", f"Page {i}", 2) for i in range(args.tenants)])
        run_id = service.start(ctx, actor, Options(soak_seconds=600), queue=True).run_id
        raw.execute("UPDATE control_plane.migration_runs SET status = 'soaking', current_wave = 2, "
                    "soak_until = now() + interval '10 minutes' WHERE id = %s",
                    (run_id,))
        raw.execute("UPDATE control_plane.migration_results SET status = 'applied', to_version = 3, attempts = 1 "
                    "WHERE run_id = %s AND wave = 1 OR (run_id = %s AND tenant_slug < 'p01000')", (run_id, run_id))
    users.add_user(ctx, actor, "bench-admin", "admin", "bench-password-long")
    os.environ.update({"DATABASE_URL": ctx.catalog_url, "CP_DEMO": "0", "CP_RUN_SCHEDULER_IN_APP": "0",
                       "CP_SESSION_SECRET": secrets.token_hex(32)})
    seconds = []
    for _ in range(args.rounds):
        at = AppTest.from_file(str(ROOT / "pages" / "migrations.py"), default_timeout=60)
        at.session_state["cp_auth"] = {"username": "bench-admin", "role": "admin", "at": time.time()}
        started = time.perf_counter()
        at.run()
        seconds.append(time.perf_counter() - started)
        assert not at.exception, at.exception
        assert at.title[0].value == "Migrations" and len(at.dataframe[-1].value) == args.tenants  # all drawn
    print(f"Migrations page, run of {args.tenants} tenants in progress: median {statistics.median(seconds):.2f} s, "
          f"worst {max(seconds):.2f} s over {args.rounds} runs (first run includes imports; target <= 1.5 s)")
    if not args.no_browser:
        for line in in_chromium(ctx.catalog_url, run_id, args.tenants, args.rounds):
            print(line)


def in_chromium(catalog_url: str, run_id: int, tenants: int, rounds: int) -> list[str]:
    from playwright.sync_api import Page, expect, sync_playwright

    from tests.e2e.helpers import NAV_LINK, settled, sign_in
    from tests.e2e.server import launch_chromium, start_server

    def content_visible(page: Page) -> None:
        page.locator("h1").filter(has_text="Migrations").first.wait_for()
        page.locator("h3").filter(has_text=f"Run {run_id}: soaking").first.wait_for()
        page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
        grids = page.locator('[data-testid="stDataFrame"]')  # revisions, waves, results (no verdicts yet)
        expect(grids).to_have_count(3)
        grids.nth(2).locator("table tbody tr").first.wait_for(state="attached")
        page.get_by_role("button", name="Start", exact=True).wait_for()  # the last element of the page
        settled(page)

    def users_visible(page: Page) -> None:
        page.locator("h1").filter(has_text="Users").first.wait_for()
        page.locator('[data-testid="stDataFrame"]').first.wait_for()
        settled(page)

    data_dir = Path(tempfile.mkdtemp(prefix="cp-bench-page-"))
    server = start_server({"DATABASE_URL": catalog_url, "CP_DEMO": "0", "CP_RUN_SCHEDULER_IN_APP": "0",
                           "CP_DATA_DIR": str(data_dir), "CP_SESSION_SECRET": os.environ["CP_SESSION_SECRET"]})
    loads, clicks, base_loads, base_clicks = [], [], [], []
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            sign_in(page, server.url, "bench-admin", "bench-password-long")
            first = timed(lambda: page.goto(server.url + "/migrations"), lambda: content_visible(page))
            for _ in range(rounds):  # alternating with the app's lightest page: this machine's speed drifts
                loads.append(timed(lambda: page.goto(server.url + "/migrations"), lambda: content_visible(page)))
                base_loads.append(timed(lambda: page.goto(server.url + "/users"), lambda: users_visible(page)))
                clicks.append(timed(page.locator(NAV_LINK).filter(has_text="Migrations").first.click,
                                    lambda: content_visible(page)))
                base_clicks.append(timed(page.locator(NAV_LINK).filter(has_text="Users").first.click,
                                         lambda: users_visible(page)))
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return [f"Chromium, run of {tenants} tenants in progress (target <= 1.5 s), first load {first * 1000:.0f} ms:",
            summary("  load /migrations -> content", loads),
            summary("  load /users (lightest page)", base_loads),
            summary("  menu click -> Migrations content", clicks),
            summary("  menu click -> Users (lightest)", base_clicks)]


if __name__ == "__main__":
    main()
