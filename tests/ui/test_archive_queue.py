"""The admin queue of archive requests through the real pages: support provisions a tenant and asks
for its archive; the admin finds the request on Overview and on the tenant's page, approves (the
archive runs) or declines with a reason; support sees the outcome."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from control_plane.db.models import ArchiveRequest, Tenant
from tests import moto_server
from tests.ui.test_tenants_page import provision_through_form
from tests.ui.walk import signed_in
from ui.text import plain

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures: archives go to moto's S3
PAGE = "pages/tenants.py"
REASON = "Customer left on 30 Nov; asked us to delete [everything] (ticket #4411)."


@pytest.fixture
def app(ctx, make_app):
    """app(script, role, username): signed in as that person, created the first time they appear."""
    return lambda script, role, username: signed_in(ctx, script, username, role)


def _detail(app, slug, role, username):
    at = app(PAGE, role, username)
    at.query_params["tenant"] = slug
    return at.run()


def _texts(at) -> list[str]:
    return [e.value for kind in ("markdown", "caption", "success", "warning", "info", "error")
            for e in at.get(kind)]


def _file_request(app, slug, reason=REASON):
    at = _detail(app, slug, "support", username="sam")
    at.text_area(key=f"archive_reason_{slug}").input(reason)
    at.checkbox(key=f"archive_confirm_{slug}").check()
    at.button(key=f"FormSubmitter:request_archive_{slug}-Request archive").click().run()
    assert not at.exception, at.exception
    assert any("an admin will review it" in s.value for s in at.success)
    return at


def _queue(at):
    return next(d.value for d in at.dataframe if "Requested by" in d.value.columns)


def test_provision_list_request_then_the_admins_overview(make_app, ctx, new_slug):
    """The issue's check: provision from the Tenants page, the list as support and founder counts
    the new tenant, an archive request with a reason is on the admin's Overview."""
    slug = new_slug("hq")
    at = provision_through_form(make_app(PAGE, role="support").run(), slug, "Queue Works")
    assert not at.exception, at.exception
    for viewer in ("support", "founder"):
        listed = make_app(PAGE, role=viewer).run()
        assert not listed.exception, listed.exception
        assert slug in listed.dataframe[0].value["Slug"].tolist()
        assert any(c.value.startswith("1 tenant ") for c in listed.caption)

    at = make_app(PAGE, role="support")
    at.query_params["tenant"] = slug
    at.run()
    at.text_area(key=f"archive_reason_{slug}").input(REASON)
    at.checkbox(key=f"archive_confirm_{slug}").check()
    at.button(key=f"FormSubmitter:request_archive_{slug}-Request archive").click().run()
    assert not at.exception, at.exception
    overview = make_app("streamlit_app.py", role="admin").run()
    assert not overview.exception, overview.exception
    assert overview.title[0].value == "Overview"
    [row] = _queue(overview).to_dict("records")
    assert (row["Tenant"], row["Name"], row["Requested by"], row["Reason"]) == (
        slug, "Queue Works", "support-user", REASON)
    assert row["Waiting"] in ("just now", "1 min")
    assert {m.label: m.value for m in overview.metric}["Archive requests waiting"] == "1"


def test_admin_declines_with_a_reason_and_support_sees_why(app, ctx, new_slug):
    slug = new_slug("hd")
    provision_through_form(app(PAGE, "support", "sam").run(), slug)
    _file_request(app, slug)
    at = _detail(app, slug, "admin", username="ada")
    assert any(plain(REASON) in t and "sam" in t for t in _texts(at))  # shown as text, on the page and the form
    assert any(e.label == "Approve archive request" for e in at.expander)
    submit = f"FormSubmitter:decline_archive_{slug}-Decline request"
    at.button(key=submit).click().run()
    assert any("Give a reason" in e.value for e in at.error)
    at.text_area(key=f"decline_reason_{slug}").input("Contract runs to June; *not* before.")
    at.button(key=submit).click().run()
    assert not at.exception, at.exception
    assert any("declined" in s.value for s in at.success)
    with ctx.session_factory() as s:
        request = s.scalar(select(ArchiveRequest).where(ArchiveRequest.tenant_slug == slug))
    assert (request.status, request.decided_by) == ("declined", "ada")

    mine = _detail(app, slug, "support", username="sam-again")
    outcome = [i.value for i in mine.info if "declined" in i.value]
    assert outcome and "ada" in outcome[0] and plain("Contract runs to June; *not* before.") in outcome[0]
    assert any(e.label == "Request archive" for e in mine.expander)  # may ask again
    overview = app("pages/overview.py", "support", "sam").run()
    assert not overview.exception, overview.exception
    [row] = next(d.value for d in overview.dataframe if "Why (when declined)" in d.value.columns).to_dict("records")
    assert (row["Outcome"], row["Decided by"], row["Why (when declined)"]) == (
        "declined", "ada", "Contract runs to June; *not* before.")
    admin_view = app("pages/overview.py", "admin", "ada").run()
    assert "No archive request is waiting for a decision." in [c.value for c in admin_view.caption]


def test_admin_approves_and_the_archive_runs(app, ctx, app_s3, new_slug):
    slug = new_slug("ha")
    provision_through_form(app(PAGE, "support", "sam").run(), slug)
    _file_request(app, slug)
    at = _detail(app, slug, "admin", username="ada")
    at.text_input(key=f"archive_typed_{slug}").input(slug)
    at.button(key=f"FormSubmitter:archive_{slug}-Approve and archive").click().run()
    assert not at.exception, at.exception
    assert any("request by sam is approved" in s.value for s in at.success)
    with ctx.session_factory() as s:
        assert s.scalar(select(Tenant.status).where(Tenant.slug == slug)) == "archived"
    mine = _detail(app, slug, "support", username="sam-again")
    assert any("approved" in s.value and "ada" in s.value for s in mine.success)


def test_support_sees_the_pending_request_instead_of_a_second_form(app, ctx, new_slug):
    slug = new_slug("hp")
    provision_through_form(app(PAGE, "support", "sam").run(), slug)
    _file_request(app, slug)
    at = _detail(app, slug, "support", username="sue")
    assert not any(e.label == "Request archive" for e in at.expander)
    assert any("Waiting for an admin" in w.value for w in at.warning)
