"""Every page an admin can open, on a catalog with the values that used to show raw (a suspended
tenant with a reason, one without an e-mail, a failing check with its incident, a job run, audit
entries with before/after), follows docs/pages.md "Display conventions": no snake_case header, no
"+00:00", no None/nan/True/False cell."""

from __future__ import annotations

from control_plane.auth.permissions import Actor, Role
from control_plane.services import tenants
from tests.factories import OPERATOR, make_tenant
from tests.ui.readable import unreadable
from tests.ui.test_uptime_page import seed_checks
from tests.ui.walk import app_as, walkers
from ui.navigation import pages_for


def test_every_admin_page_reads_as_words(ctx, new_slug):
    quiet, loud = new_slug("rd"), new_slug("rd")
    make_tenant(ctx, quiet)
    make_tenant(ctx, loud)
    tenants.suspend(ctx, OPERATOR, loud, "unpaid invoice")
    seed_checks(ctx, f"schema:{quiet}", "." * 20 + "xxx")
    names = walkers(ctx)
    at = app_as(names["admin"], "admin").run()
    found: dict[str, list[str]] = {}
    tables = 0
    for spec in pages_for(Actor(names["admin"], Role.ADMIN)):
        at = at.switch_page(spec.path).run()
        assert not at.exception, (spec.path, at.exception)
        tables += len(at.dataframe)
        bad = unreadable(at)
        if bad:
            found[spec.path] = bad[:5]
    assert found == {}
    assert tables >= 8  # the walk saw the tables it is about (tenants, audit, jobs, uptime, users, …)
