"""The Tenants page in Chromium at 20,000 tenants beside a small fleet (issue 19: first render
<= 1.5 s): a full load, a server-side search and the next page, timed in a real browser.

    .venv/bin/python bench/tenants_page_browser.py [--data-dir /work/fleet-scale-data]
        [--database fleet_scale] [--copy auto|always] [--small 200] [--small-data-dir DIR] [--rounds 7]

The large fleet is the one bench/fleet_scale.py grows (attached, never stopped). The app must not
migrate a catalog that others measure on, so it runs on the fleet's own database only when that is
at this tree's head revision; otherwise (or with --copy always) on a catalog-only copy in a database
of its own on the same server (`tenants_page_bench`: this tree's migrations, then the fleet's
plans, clusters and tenant rows; dropped at the end). The page reads only the catalog. The small
fleet is a throwaway embedded server under a temporary directory (or --small-data-dir) with
--small catalog rows shaped like the fleet's. Both are served at once by `streamlit run` (as
scripts/run-app does; tests/e2e/server.py), signed in once through the sign-in form as a support
user (`bench-support`, created as bench/fleet_reads.py does).

Each round, alternating the two fleets step by step (this machine's speed drifts):
1. load: `goto /tenants` (a new Streamlit session, signed in from the cookie) until the first page
   is there: the caption "N tenants · 1–50 shown", the label "Page (of P)", the first slug of the
   fleet in the grid, and no script run in progress;
2. next: click "Next" until "51–100 shown" and the 51st slug are in the grid;
3. search: type a slug fragment (from a tenant far past the first page) until the caption says
   how many match, as the database counts them, and the first match is in the grid.
In the same rounds, the floor: a one-file Streamlit app with a title, a caption and a 50-row grid,
loaded the same way. Median and range are printed per step and fleet, with the load average
(`uptime`) before and after. Figures: bench/README.md "Tenants page in Chromium".
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402
from psycopg import sql  # noqa: E402

from control_plane.adapters import tenant_reads  # noqa: E402
from control_plane.auth.permissions import system_actor  # noqa: E402
from control_plane.bootstrap import bootstrap  # noqa: E402
from control_plane.config import Settings, libpq_url  # noqa: E402
from control_plane.db import embedded, migrate  # noqa: E402
from control_plane.db.engine import make_engine  # noqa: E402
from control_plane.services import users  # noqa: E402
from tests.e2e.helpers import sign_in  # noqa: E402
from tests.e2e.server import Server, launch_chromium, start_server  # noqa: E402
from ui.tenant_list import PAGE_SIZE  # noqa: E402

USER, PASSWORD = "bench-support", "bench-password-long-enough"  # as bench/fleet_reads.py
COPY_DATABASE = "tenants_page_bench"
# Copied from the fleet into the copy, in this order (foreign keys), columns both revisions have.
COPIED_TABLES = ("plans", "clusters", "tenants")
STEPS = ("load", "next", "search")
# The floor: the least a Streamlit page with a caption and a 50-row grid costs in this browser.
FLOOR_APP = """import pandas as pd
import streamlit as st

st.title("Floor")
st.caption("floor ready")
st.dataframe(pd.DataFrame({"slug": [f"f{i:03d}" for i in range(50)], "name": ["Floor"] * 50}), height=420)
"""


@dataclass(frozen=True)
class Search:
    fragment: str
    matches: int
    first: str


@dataclass(frozen=True)
class Fleet:
    label: str
    url: str  # the catalog, SQLAlchemy form
    total: int
    first_two_pages: list[str]  # slugs, in the page's order
    searches: list[Search]


def _expectations(label: str, url: str, searches: int = 3) -> Fleet:
    """What the page must show, as the database answers it (the page's own filters and order)."""
    with psycopg.connect(libpq_url(url)) as conn:
        total = tenant_reads.count_tenants(conn, tenant_reads.TenantFilters())
        rows = tenant_reads.fetch_page(conn, tenant_reads.TenantFilters(limit=2 * PAGE_SIZE), 0)
        # Fragments of slugs far past the first page: a match there proves the database searched.
        found = []
        for tenth in range(10 - searches, 10):  # 70 %, 80 % and 90 % down the list
            slug = conn.execute("SELECT slug FROM control_plane.tenants ORDER BY slug OFFSET %s LIMIT 1",
                                (total * tenth // 10,)).fetchone()[0]
            wanted = tenant_reads.TenantFilters(search=slug[-4:].lower(), limit=1)
            first = tenant_reads.fetch_page(conn, wanted, 0)[0]["slug"]
            found.append(Search(slug[-4:], tenant_reads.count_tenants(conn, wanted), first))
    return Fleet(label, url, total, [r["slug"] for r in rows], found)


def _revisions(url: str) -> frozenset[str]:
    engine = make_engine(url)
    try:
        return migrate.stored_revisions(engine)
    finally:
        engine.dispose()


def _ensure_user(url: str) -> None:
    ctx = bootstrap(Settings.from_env({"CP_DATA_DIR": tempfile.gettempdir()}), database_url=url, run_migrations=False)
    try:
        if USER not in {u.username for u in users.list_users(ctx, system_actor("bench"))}:
            users.add_user(ctx, system_actor("bench"), USER, "support", PASSWORD)
    finally:
        ctx.close()


def _admin_conninfo(server: embedded.EmbeddedServer, database: str) -> str:
    return libpq_url(server.url(database))


def _copy_catalog(server: embedded.EmbeddedServer, source: str) -> str:
    """A catalog-only copy of `source` at this tree's head: its plans, clusters and tenants."""
    with psycopg.connect(_admin_conninfo(server, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{COPY_DATABASE}"')  # ours: a constant name
        admin.execute(f'CREATE DATABASE "{COPY_DATABASE}"')
    url = server.url(COPY_DATABASE)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    columns_sql = ("SELECT column_name FROM information_schema.columns WHERE table_schema = 'control_plane' "
                   "AND table_name = %s ORDER BY ordinal_position")
    with psycopg.connect(_admin_conninfo(server, source)) as src, \
            psycopg.connect(_admin_conninfo(server, COPY_DATABASE)) as dst:
        for table in reversed(COPIED_TABLES):  # the migrations' seed rows go: the fleet's replace them
            dst.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier("control_plane", table)))
        for table in COPIED_TABLES:
            theirs = [r[0] for r in src.execute(columns_sql, (table,))]
            ours = {r[0] for r in dst.execute(columns_sql, (table,))}
            names = sql.SQL(", ").join(sql.Identifier(c) for c in theirs if c in ours)
            qualified = sql.Identifier("control_plane", table)
            with src.cursor().copy(sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(names, qualified)) as out, \
                    dst.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(qualified, names)) as into:
                for block in out:
                    into.write(block)
        dst.commit()
        dst.autocommit = True
        dst.execute("ANALYZE control_plane.tenants")
    return url


@contextmanager
def large_fleet(data_dir: Path, database: str, copy: str) -> Iterator[tuple[str, str]]:
    """(catalog URL, how it was chosen) of the 20,000-tenant fleet; the server is never stopped."""
    server = embedded.start(data_dir, engine="binaries")
    url = server.url(database)
    if copy == "auto" and _revisions(url) == migrate.head_revisions():
        _ensure_user(url)
        yield url, f"the fleet's own database {database} (at this tree's head revision)"
        return
    stored = ", ".join(sorted(_revisions(url))) or "none"
    copied = _copy_catalog(server, database)
    _ensure_user(copied)
    try:
        yield copied, (f"a catalog-only copy of {database} (its revision {stored}, this tree's "
                       f"{', '.join(sorted(migrate.head_revisions()))}) in {COPY_DATABASE} on the same server")
    finally:
        with psycopg.connect(_admin_conninfo(server, "postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{COPY_DATABASE}" WITH (FORCE)')


@contextmanager
def small_fleet(tenants: int, data_dir: Path | None) -> Iterator[str]:
    """A throwaway embedded catalog with `tenants` catalog rows shaped like the grown fleet's."""
    own = data_dir is None
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="cp-bench-tenants-"))
    ctx = bootstrap(Settings.from_env({"CP_DATA_DIR": str(data_dir)}))
    try:
        with psycopg.connect(libpq_url(ctx.catalog_url)) as conn:
            have = conn.execute("SELECT count(*) FROM control_plane.tenants").fetchone()[0]
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO control_plane.tenants (slug, name, plan_code, status, cluster_name, "
                                "template_version) VALUES (%s, %s, 'team', 'active', 'default', 1)",
                                [(f"s{i:06d}", f"Small s{i:06d}") for i in range(have, tenants)])
            conn.execute("ANALYZE control_plane.tenants")
        _ensure_user(ctx.catalog_url)
        yield ctx.catalog_url
    finally:
        server = ctx.embedded_server
        ctx.close()
        if own and server is not None:
            server.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


def _timed(action: Callable[[], None], done: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    done()
    return time.perf_counter() - started


# The first page (or the next, or the matches) is there: the caption and label texts in the main
# area, the slug in a cell of the grid (its accessible table holds the rows in view) and no script
# run in progress. Checked on every animation frame: Playwright's own waits retry after 20, 50,
# 100, 100 and then every 500 ms, which would round most figures up to those steps.
_SHOWN = """([texts, slug]) => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main || document.querySelector('[data-testid="stStatusWidget"]')) return false;
  const text = main.textContent;
  return texts.every(t => text.includes(t))
    && [...main.querySelectorAll('[data-testid="stDataFrame"] table td')].some(td => td.textContent.trim() === slug);
}"""


def _shown(page: Page, texts: list[str], slug: str) -> None:
    page.wait_for_function(_SHOWN, arg=[texts, slug], polling="raf")


class Browser:
    """One signed-in tab on one fleet's app."""

    def __init__(self, page: Page, server: Server, fleet: Fleet) -> None:
        self.page, self.server, self.fleet = page, server, fleet
        self.round = 0
        sign_in(page, server.url, USER, PASSWORD)

    def load(self) -> float:
        fleet, page = self.fleet, self.page
        pages = -(-fleet.total // PAGE_SIZE)

        texts = [f"{fleet.total:,} tenants · 1–{min(PAGE_SIZE, fleet.total)} shown", f"Page (of {pages:,})"]
        return _timed(lambda: page.goto(self.server.url + "/tenants"),
                      lambda: _shown(page, texts, fleet.first_two_pages[0]))

    def next(self) -> float:
        fleet, page = self.fleet, self.page
        last = min(2 * PAGE_SIZE, fleet.total)
        return _timed(page.get_by_role("button", name="Next").click,
                      lambda: _shown(page, [f"{PAGE_SIZE + 1}–{last} shown"], fleet.first_two_pages[PAGE_SIZE]))

    def search(self) -> float:
        wanted = self.fleet.searches[self.round % len(self.fleet.searches)]
        self.round += 1
        caption = f"{wanted.matches:,} tenant{'s' if wanted.matches != 1 else ''} match"
        box = self.page.get_by_role("searchbox", name="Search")
        return _timed(lambda: box.fill(wanted.fragment), lambda: _shown(self.page, [caption], wanted.first))


class Floor:
    """A tab on the floor app: loads only."""

    def __init__(self, page: Page, server: Server) -> None:
        self.page, self.server = page, server

    def load(self) -> float:
        return _timed(lambda: self.page.goto(self.server.url + "/"), lambda: _shown(self.page, ["floor ready"], "f000"))


def _summary(label: str, step: str, values: list[float]) -> str:
    return (f"  {label:<8} {step:<7} median {statistics.median(values) * 1000:6.0f} ms   "
            f"range {min(values) * 1000:6.0f}–{max(values) * 1000:6.0f} ms   ({len(values)} runs)")


def _uptime() -> str:
    return subprocess.run(["uptime"], check=True, capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/work/fleet-scale-data"))
    parser.add_argument("--database", default="fleet_scale")
    parser.add_argument("--copy", choices=("auto", "always"), default="auto",
                        help="auto: the fleet's own database when it is at this tree's head revision")
    parser.add_argument("--small", type=int, default=200, help="tenants of the small fleet")
    parser.add_argument("--small-data-dir", type=Path, help="an embedded data dir to use for the small fleet")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"before: {_uptime()}", flush=True)
    secret = os.environ.get("CP_SESSION_SECRET") or secrets.token_hex(32)
    with ExitStack() as stack:
        large_url, how = stack.enter_context(large_fleet(args.data_dir, args.database, args.copy))
        small_url = stack.enter_context(small_fleet(args.small, args.small_data_dir))
        fleets = [_expectations("large", large_url), _expectations("small", small_url)]
        print(f"large: {fleets[0].total:,} tenants, {how}\nsmall: {fleets[1].total:,} tenants", flush=True)
        for fleet in fleets:
            print(f"  {fleet.label} searches: "
                  + ", ".join(f"{s.fragment!r} -> {s.matches}" for s in fleet.searches), flush=True)
        servers = []
        for fleet in fleets:
            app_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cp-bench-app-")))
            server = start_server({"DATABASE_URL": fleet.url, "CP_DEMO": "0", "CP_RUN_SCHEDULER_IN_APP": "0",
                                   "CP_DATA_DIR": str(app_dir), "CP_SESSION_SECRET": secret})
            stack.callback(server.stop)
            servers.append(server)
        floor_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cp-bench-floor-")))
        (floor_dir / "floor.py").write_text(FLOOR_APP)
        floor_server = start_server({}, script="floor.py", cwd=floor_dir)
        stack.callback(floor_server.stop)
        playwright = stack.enter_context(sync_playwright())
        chromium = launch_chromium(playwright)
        stack.callback(chromium.close)
        expect.set_options(timeout=120_000)

        def new_page() -> Page:
            page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(120_000)
            return page

        tabs = [Browser(new_page(), server, fleet) for fleet, server in zip(fleets, servers, strict=True)]
        floor = Floor(new_page(), floor_server)
        first = {tab.fleet.label: tab.load() for tab in tabs}  # the server's first run of the page: apart
        first["floor"] = floor.load()
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for step in STEPS:  # every step on both fleets, one after the other
                for tab in tabs:
                    times.setdefault((tab.fleet.label, step), []).append(getattr(tab, step)())
                if step == "load":
                    times.setdefault(("floor", step), []).append(floor.load())
    print("Tenants page in Chromium (target: load <= 1.5 s at 20,000); first load, apart: "
          + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in first.items()))
    for (label, step), values in sorted(times.items(), key=lambda kv: STEPS.index(kv[0][1])):
        print(_summary(label, step, values))
    print(f"after: {_uptime()}")


if __name__ == "__main__":
    main()
