"""One rollout in Chromium (docs/migrations.md "The Migrations page"): an admin starts it from the
page's form with soak 0, the worker's job drives it (the e2e server runs no scheduler, so the test
calls the job the worker calls), and the page shows the run completed with every tenant at the
target version; the catalog agrees."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect
from sqlalchemy import select

from control_plane.db.models import Tenant
from control_plane.fleet import service
from control_plane.scheduler.context import JobContext
from control_plane.tenant_schema.revisions import DEFAULT
from jobs import fleet_migrations
from tests.e2e.helpers import open_page, settled, sign_in
from tests.e2e.test_browser import PASSWORD, add_accounts
from tests.factories import OPERATOR, make_tenant

GRID = '[data-testid="stDataFrame"]'
RESULTS_ROWS = f"{GRID} table tbody tr"


def _drive_until_done(ctx, deadline_s: float = 60.0) -> dict:
    """Tick the worker's job until the queued run finishes (bounded by a deadline, no sleeps)."""
    deadline = time.monotonic() + deadline_s
    while True:
        fleet_migrations.run(JobContext(app=ctx))
        run = service.status(ctx, OPERATOR)
        if run is not None and run.status in ("completed", "halted", "rolled_back"):
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run not finished in {deadline_s} s: {run and run.status}")


def _result_row(page: Page, slug: str) -> dict[str, str]:
    """The results table's row of a tenant as {column: text}, from the grid's accessible table."""
    grid = page.locator(GRID).filter(has_text=slug).first
    header = [t.strip() for t in grid.locator("table thead th").all_inner_texts()]
    cells = [t.strip() for t in grid.locator("table tbody tr").filter(has_text=slug).first
             .locator("td, th").all_inner_texts()]
    return dict(zip(header[-len(cells):], cells, strict=True))


def test_an_admin_rolls_the_fleet_out_from_the_migrations_page(app_server, page, ctx, new_slug):
    add_accounts(ctx)
    slugs = [new_slug("mig") for _ in range(3)]
    for slug in slugs:
        make_tenant(ctx, slug, template_version=1)
    target = DEFAULT.latest

    sign_in(page, app_server.url, "admin", PASSWORD)
    open_page(page, "Migrations")
    expect(page.get_by_text("No migration run yet.")).to_be_visible()
    page.get_by_role("textbox", name="Soak between waves").fill("0")
    page.get_by_text("Start this rollout (the worker drives it)").click()
    page.get_by_role("button", name="Start", exact=True).click()
    settled(page)
    expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_be_visible()
    assert page.locator('[data-testid="stException"]').count() == 0

    queued = service.status(ctx, OPERATOR)
    assert queued.queued and queued.soak_seconds == 0 and queued.target_version == target
    assert sorted(r["tenant"] for r in queued.results) == sorted(slugs)
    finished = _drive_until_done(ctx)
    assert finished.status == "completed", finished.halt_reason

    # The run's fragment refreshes every 5 s: the page shows the outcome without a reload.
    expect(page.locator("h3").filter(has_text=f"Run {finished.id}: completed → v{target}")).to_be_visible()
    for slug in slugs:
        # The heading is drawn first in a refresh; the table's rows follow within that refresh.
        expect(page.locator(RESULTS_ROWS).filter(has_text=slug).filter(has_text="applied")).to_have_count(1)
        row = _result_row(page, slug)
        assert (row["Tenant"], row["Status"], row["From"], row["To"]) == (slug, "applied", "v1", f"v{target}"), row
    # In the same refresh: the start message has gone with the run (docs/migrations.md "The Migrations page").
    expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_have_count(0)
    with ctx.session_factory() as session:
        versions = dict(session.execute(select(Tenant.slug, Tenant.template_version)
                                        .where(Tenant.slug.in_(slugs))).all())
    assert versions == dict.fromkeys(slugs, target)
