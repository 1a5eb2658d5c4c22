"""Every page renders for every role after every everyday action (issue 18).

Each test takes a group of actions through the pages themselves (the forms people use), leaving
their results side by side in one catalog, then opens every screen as founder, support, on-call
and admin: the first screen through streamlit_app.py, each page of the role's menu, and the page of
every tenant an action touched (tests/ui/walk.py). Actions the test harness cannot drive through a
page (a file upload) or that run in the background (a move, a fleet migration's waves) call the
service, as the worker would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from control_plane.archive import service as archive_service
from control_plane.core import alerts
from control_plane.db.models import Alert
from control_plane.fleet import service as fleet_service
from control_plane.moves import service as moves
from control_plane.moves.service import MoveOptions
from control_plane.revenue import importer
from control_plane.uptime import burn
from tests import moto_server
from tests.factories import OPERATOR, make_tenant
from tests.ui.test_tenants_page import _tenant, _whole_seconds, provision_through_form
from tests.ui.test_uptime_page import seed_checks
from tests.ui.walk import open_everything, signed_in

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures: archives go to moto's S3
PAGE = "pages/tenants.py"


class _Crash(Exception):
    pass


@pytest.fixture
def app(ctx, make_app):
    """app(script, role, username): signed in as that person, created the first time they appear."""
    return lambda script, role, username="actor": signed_in(ctx, script, f"{username}-{role}", role)


def _detail(app, slug, role):
    at = app(PAGE, role)
    at.query_params["tenant"] = slug
    return at.run()


def _ok(at):
    assert not at.exception, at.exception
    return at


def _submit(at, key):
    return _ok(at.button(key=key).click().run())


def _seeded(ctx, new_slug, prefix):
    """A tenant made before the test, with whole-second times as the demo seeds them (one
    provisioned from a page has fractions: the mix once broke the Tenants list)."""
    slug = new_slug(prefix)
    make_tenant(ctx, slug)
    _whole_seconds(ctx, slug)
    return slug


def _assert_all_render(ctx, tenants):
    failed = open_everything(ctx, tenants)
    assert not failed, "\n".join(f"{where}: {msgs}" for where, msgs in failed.items())


def test_after_the_tenant_lifecycle_from_the_pages(app, ctx, new_slug):
    provisioned = new_slug("wp")
    _ok(provision_through_form(app(PAGE, "support").run(), provisioned, "Walked <b>Co</b> *Ltd*"))
    suspended, resumed, replanned, declined, pending = (_seeded(ctx, new_slug, p) for p in
                                                         ("ws", "wr", "wc", "wd", "wq"))
    for slug in (suspended, resumed):
        at = _detail(app, slug, "support")
        at.text_area(key=f"suspend_reason_{slug}").input("Unpaid since [Nov](http://example.com)")
        at.checkbox(key=f"suspend_confirm_{slug}").check()
        _submit(at, f"FormSubmitter:suspend_{slug}-Suspend tenant")
    _submit(_detail(app, resumed, "support"), f"FormSubmitter:resume_{resumed}-Resume tenant")
    at = _detail(app, replanned, "support")
    at.selectbox(key=f"plan_new_{replanned}").select("enterprise")
    at.checkbox(key=f"plan_confirm_{replanned}").check()
    _submit(at, f"FormSubmitter:plan_{replanned}-Change plan")
    for slug in (declined, pending):
        at = _detail(app, slug, "support")
        at.text_area(key=f"archive_reason_{slug}").input("Customer left: **delete** it")
        at.checkbox(key=f"archive_confirm_{slug}").check()
        _submit(at, f"FormSubmitter:request_archive_{slug}-Request archive")
    at = _detail(app, declined, "admin")
    at.text_area(key=f"decline_reason_{declined}").input("Contract runs to June")
    _submit(at, f"FormSubmitter:decline_archive_{declined}-Decline request")
    at = _detail(app, resumed, "support")
    at.text_area(key=f"note_text_{resumed}").input("Called them: [pay](http://example.com) **soon**")
    _submit(at, f"FormSubmitter:note_{resumed}-Add note")

    assert [_tenant(ctx, s).status for s in (provisioned, suspended, resumed)] == ["active", "suspended", "active"]
    assert _tenant(ctx, replanned).plan_code == "enterprise"
    assert [r.slug for r in archive_service.pending_archive_requests(ctx, OPERATOR)] == [pending]
    _assert_all_render(ctx, [provisioned, suspended, resumed, replanned, declined, pending])


def test_after_archive_approve_restore_and_a_stuck_archive(app, ctx, app_s3, new_slug):
    archived, approved, restored, stuck = (_seeded(ctx, new_slug, p) for p in ("wa", "wv", "wt", "wk"))
    at = _detail(app, approved, "support")
    at.text_area(key=f"archive_reason_{approved}").input("Customer left")
    at.checkbox(key=f"archive_confirm_{approved}").check()
    _submit(at, f"FormSubmitter:request_archive_{approved}-Request archive")
    for slug, button in ((archived, "Archive tenant"), (restored, "Archive tenant"), (approved, "Approve and archive")):
        at = _detail(app, slug, "admin")
        at.text_input(key=f"archive_typed_{slug}").input(slug)
        _submit(at, f"FormSubmitter:archive_{slug}-{button}")
    at = _detail(app, restored, "admin")
    at.checkbox(key=f"restore_confirm_{restored}").check()
    _submit(at, f"FormSubmitter:restore_{restored}-Restore tenant")

    def crash(step: str) -> None:
        if step == "started":
            raise _Crash(step)

    with pytest.raises(_Crash):  # an archive that stopped half-way: the tenant is left archiving
        archive_service.archive_tenant(ctx, OPERATOR, stuck, fault=crash)

    assert [_tenant(ctx, s).status for s in (archived, approved, restored, stuck)] == [
        "archived", "archived", "active", "archiving"]
    _assert_all_render(ctx, [archived, approved, restored, stuck])


def test_after_billing_uptime_migration_users_and_plans(app, ctx, new_slug, tmp_path):
    slugs = [_seeded(ctx, new_slug, "wo") for _ in range(2)]
    make_tenant(ctx, new_slug("wo"), template_version=1)  # behind: the rollout has work to do
    # Billing import: the page's file uploader cannot be driven by AppTest; the page calls this.
    csv = ["tenant,effective_date,plan,interval,price,seats,discount_percent,status",
           f"{slugs[0]},2025-01-10,team,month,40.50,3,10,active",
           f"{slugs[0]},2025-03-01,business,month,299,1,0,active",
           f"{slugs[1]},2025-02-05,starter,year,290,1,0,active",
           f"{slugs[1]},2025-04-05,starter,year,290,1,0,canceled"]
    staged = tmp_path / "walk.csv"
    staged.write_text("\n".join(csv) + "\n")
    importer.import_file(ctx, OPERATOR, staged, source="walk.csv")
    # An incident (failing checks), acknowledged from the Uptime page; a maintenance window declared there.
    seed_checks(ctx, f"schema:{slugs[0]}", "." * 20 + "xxxx")
    uptime = _ok(app("pages/uptime.py", "oncall").run())
    uptime.text_area(key="ack_note").input("Failover; see #ops")
    _ok(next(b for b in uptime.button if b.label == "Acknowledge").click().run())
    # A burn-rate alert (two failures in the last five minutes, stored as the sweep stores it),
    # acknowledged from the on-call inbox at the top of the Uptime page.
    burning = _seeded(ctx, new_slug, "wb")
    seed_checks(ctx, f"schema:{burning}", "." * 55 + "x.x..")
    with ctx.session_factory() as session:
        [alert] = alerts.add(session, burn.evaluate(session, datetime.now(UTC), ctx.settings.slo_target))
        session.commit()
    inbox = _ok(app("pages/uptime.py", "oncall").run())
    _ok(inbox.button(key="uptime_show_Critical alerts").click().run())
    inbox.radio(key="uptime_action").set_value("acknowledge")
    _ok(next(b for b in inbox.button if b.label == "Apply").click().run())
    with ctx.session_factory() as session:
        assert session.get(Alert, alert.id).acknowledged_by == "actor-oncall"
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    uptime.radio(key="mw_kind").set_value("tenant")
    uptime.text_input(key="mw_scope").input(slugs[1])
    uptime.date_input(key="mw_day").set_value(start.date())
    uptime.time_input(key="mw_time").set_value(start.time())
    uptime.text_input(key="mw_reason").input("Planned failover")
    _ok(next(b for b in uptime.button if b.label == "Declare maintenance window").click().run())
    assert any("declared" in s.value for s in uptime.success)
    # A fleet migration started from the page, its waves driven as the worker does.
    migrations = _ok(app("pages/migrations.py", "admin").run())
    migrations.text_input(key="migrations_soak").input("0")
    migrations.checkbox(key="migrations_start_confirm").check()
    _ok(migrations.button[-1].click().run())
    run = fleet_service.status(ctx, OPERATOR)
    assert fleet_service.drive(ctx, OPERATOR, run.id).status == "completed"
    # A user added and a plan price edited from their pages.
    users_page = _ok(app("pages/users.py", "admin").run())
    users_page.text_input(key="add_username").input("nina")
    users_page.selectbox(key="add_role").select("oncall")
    users_page.text_input(key="add_password").input("pw-5678-long-enough")
    _submit(users_page, "FormSubmitter:add_user-Add user")
    revenue = _ok(app("pages/revenue.py", "admin").run())
    revenue.text_input(key="plan_code").input("team")
    revenue.text_input(key="plan_price").input("45.50")
    _ok(revenue.get("form_submit_button")[0].click().run())
    _assert_all_render(ctx, [*slugs, burning])


def test_after_a_move(app, ctx, cluster_b, new_slug):
    slug = _seeded(ctx, new_slug, "wm")
    fast = MoveOptions(poll_s=0.02, sync_timeout_s=60, catchup_timeout_s=30)
    assert moves.start(ctx, OPERATOR, slug, "b", fast).status == "completed"
    _assert_all_render(ctx, [slug])
