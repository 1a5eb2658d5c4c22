"""How fast the app renders in Chromium with 2,000 tenants and 18 months of history.

    .venv/bin/python bench/ui_render.py [--tenants 2000] [--months 18] [--rounds 7] [--data-dir DIR]

1. `demo seed --tenants N --months M --accounts` into a fresh embedded catalog (its own data dir), timed.
2. Starts the app on it and, in the same run, a one-line Streamlit page as the baseline.
3. In Chromium, signed in: time from a click in the menu to the page fully rendered (no run in
   progress, its content drawn) for Overview and Tenants, alternating with the same click-to-rendered
   time of the one-line page; also cold page loads. Then the tenant search: typing to the updated
   table. Finally the app process RSS after visiting every page.
Prints figures (median and worst of the rounds); targets: each page <= 1.5 s and <= 3x the one-line
page, search <= 300 ms, RSS <= 600 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.e2e.server import launch_chromium, start_server  # noqa: E402

MENU = '[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]'
BASELINE = '''import streamlit as st

home = st.Page(lambda: st.title("Home"), title="Home", default=True)
one = st.Page("one_line.py", title="One line")
st.navigation([home, one]).run()
'''


def settled(page: Page) -> None:
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")


def timed(action: Callable[[], None], done: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    done()
    return time.perf_counter() - started


def click_menu(page: Page, title: str) -> Callable[[], None]:
    return page.locator(MENU).filter(has_text=title).first.click


def rendered(page: Page, title: str, content: str) -> Callable[[], None]:
    def wait() -> None:
        page.locator("h1").filter(has_text=title).first.wait_for()
        page.locator(content).first.wait_for()
        settled(page)
    return wait


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def seed(data_dir: Path, tenants: int, months: int) -> float:
    env = {**os.environ, "CP_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "control_plane", "demo", "seed", "--tenants", str(tenants),
                    "--months", str(months), "--accounts"], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - started


def summary(name: str, values: list[float]) -> str:
    return f"{name:<34} median {statistics.median(values) * 1000:7.0f} ms   worst {max(values) * 1000:7.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, help="reuse an already seeded data dir (skips the seed)")
    parser.add_argument("--keep", action="store_true", help="keep the seeded data dir and print its path")
    args = parser.parse_args()

    own_dir = args.data_dir is None
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="cp-bench-ui-"))
    if own_dir:
        seconds = seed(data_dir, args.tenants, args.months)
        print(f"demo seed --tenants {args.tenants} --months {args.months}: {seconds:.1f} s", flush=True)
    baseline_dir = Path(tempfile.mkdtemp(prefix="cp-bench-baseline-"))
    (baseline_dir / "app.py").write_text(BASELINE)
    (baseline_dir / "one_line.py").write_text('import streamlit as st\nst.write("hello")\n')

    app = start_server({"CP_DATA_DIR": str(data_dir), "CP_DEMO": "0", "CP_RUN_SCHEDULER_IN_APP": "0",
                        "DATABASE_URL": ""})
    base = start_server({}, script="app.py", cwd=baseline_dir)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            results = measure(browser, app.url, base.url, args.rounds, app.process.pid)
            browser.close()
    finally:
        app.stop()
        base.stop()
        shutil.rmtree(baseline_dir, ignore_errors=True)
        if own_dir and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    if args.keep:
        print(f"seeded data kept in {data_dir} (reuse with --data-dir)")
    for line in results:
        print(line)
    return 0


def measure(browser, app_url: str, base_url: str, rounds: int, app_pid: int) -> list[str]:
    cold_app, cold_base, overview, tenants, one_line, search = [], [], [], [], [], []
    app_page = browser.new_page(viewport={"width": 1400, "height": 1000})
    base_page = browser.new_page(viewport={"width": 1400, "height": 1000})

    # Cold loads, alternating: the sign-in page of the app against the one-line app's first page.
    for _ in range(3):
        cold_app.append(timed(lambda: app_page.goto(app_url + "/"),
                              rendered(app_page, "Sign in", '[data-testid="stForm"]')))
        cold_base.append(timed(lambda: base_page.goto(base_url + "/one_line"),
                               lambda: (base_page.get_by_text("hello").wait_for(), settled(base_page))))

    app_page.get_by_role("textbox", name="Username").fill("admin")
    app_page.get_by_role("textbox", name="Password").fill("demo")
    app_page.get_by_role("button", name="Sign in", exact=True).click()
    rendered(app_page, "Overview", '[data-testid="stMetric"]')()
    base_page.goto(base_url + "/")
    rendered(base_page, "Home", "h1")()

    for _ in range(rounds):  # alternate the variants inside every round: the machine's speed drifts
        tenants.append(timed(click_menu(app_page, "Tenants"),
                             rendered(app_page, "Tenants", '[data-testid="stDataFrame"]')))
        one_line.append(timed(lambda: base_page.get_by_role("link", name="One line").click(),
                              lambda: (base_page.get_by_text("hello").wait_for(), settled(base_page))))
        overview.append(timed(click_menu(app_page, "Overview"),
                              rendered(app_page, "Overview", '[data-testid="stMetric"]')))
        base_page.get_by_role("link", name="Home").click()
        rendered(base_page, "Home", "h1")()

    click_menu(app_page, "Tenants")()
    rendered(app_page, "Tenants", '[data-testid="stDataFrame"]')()
    box = app_page.get_by_role("searchbox", name="Search")
    for query in ["harbor", "zen data", "@linden", "north_", "quartz labs"] * max(1, rounds // 5):
        search.append(timed(lambda q=query: box.fill(q),
                            lambda: (app_page.get_by_text(" match").first.wait_for(), settled(app_page))))
        box.fill("")
        app_page.get_by_text(" match").first.wait_for(state="detached")
        settled(app_page)

    for title in ["Revenue", "Usage", "Uptime", "Jobs", "Scaling", "Audit log", "Users", "Overview", "Tenants"]:
        click_menu(app_page, title)()
        app_page.locator("h1").first.wait_for()
        settled(app_page)
    rss = rss_mb(app_pid)

    ratio = statistics.median(overview) / statistics.median(one_line)
    ratio_t = statistics.median(tenants) / statistics.median(one_line)
    return [
        "",
        summary("cold load: app sign-in page", cold_app),
        summary("cold load: one-line app", cold_base),
        summary("menu click -> Overview rendered", overview),
        summary("menu click -> Tenants rendered", tenants),
        summary("menu click -> one-line page", one_line),
        f"{'Overview / one-line (medians)':<34} {ratio:.2f}x   Tenants / one-line {ratio_t:.2f}x",
        summary("tenant search: type -> table", search),
        f"{'app RSS after every page':<34} {rss:.0f} MB",
    ]


if __name__ == "__main__":
    sys.exit(main())
