"""Tenants page: list, search, filters, detail, and every action's effect in the catalog, per role."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from control_plane.db.models import AuditEntry, Tenant
from tests.factories import make_tenant
from ui.text import plain

PAGE = "pages/tenants.py"


def _tenant(ctx, slug):
    with ctx.session_factory() as s:
        return s.scalar(select(Tenant).where(Tenant.slug == slug))


def _audit(ctx, action):
    with ctx.session_factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.mark.parametrize("role", ["founder", "support", "oncall", "admin"])
def test_every_role_sees_the_list(make_app, ctx, new_slug, role):
    slug = new_slug("lst")
    make_tenant(ctx, slug, name="Listed Co")
    at = make_app(PAGE, role=role).run()
    assert not at.exception
    assert at.title[0].value == "Tenants"
    assert slug in at.dataframe[0].value["Slug"].tolist()
    provision_shown = any(e.label == "Provision a new tenant" for e in at.expander)
    assert provision_shown == (role in ("support", "admin"))


def test_search_matches_slug_name_and_owner_email(make_app, ctx, new_slug):
    a, b = new_slug("srch"), new_slug("srch")
    make_tenant(ctx, a, name="Zebra Analytics", owner_email="ops@zebra.example")
    make_tenant(ctx, b, name="Other Works", owner_email="boss@other.example")
    at = make_app(PAGE, role="support").run()
    for query, expected in (("zebra an", a), ("BOSS@other", b), (b, b)):
        at.text_input(key="q").input(query).run()
        assert at.dataframe[0].value["Slug"].tolist() == [expected], query
    at.text_input(key="q").input("nothing-like-this").run()
    assert not at.dataframe
    assert "No tenant matches" in at.info[0].value


def test_status_filter_and_csv(make_app, ctx, new_slug, admin):
    from control_plane.services import tenants

    a, b = new_slug("flt"), new_slug("flt")
    make_tenant(ctx, a)
    make_tenant(ctx, b)
    tenants.suspend(ctx, admin, b, "unpaid")
    at = make_app(PAGE, role="founder").run()
    at.selectbox(key="status").select("suspended").run()
    assert at.dataframe[0].value["Slug"].tolist() == [b]
    assert at.get("download_button")


def test_empty_catalog_shows_empty_state(make_app):
    at = make_app(PAGE, role="support").run()
    assert "No tenants yet" in at.info[0].value


def test_support_provisions_through_the_form(make_app, ctx, new_slug):
    slug = new_slug("prov")
    at = make_app(PAGE, role="support").run()
    at.text_input(key="new_slug").input(slug)
    at.text_input(key="new_name").input("Provisioned Ltd")
    at.selectbox(key="new_plan").select("business")
    at.text_input(key="new_owner").input("Owner@Prov.example")
    at.button(key="FormSubmitter:provision-Provision").click().run()
    assert not at.exception, at.exception
    row = _tenant(ctx, slug)
    assert row is not None and row.status == "active" and row.plan_code == "business"
    assert row.owner_email == "owner@prov.example"
    assert at.query_params["tenant"] == [slug] or at.query_params["tenant"] == slug
    assert "provisioned" in at.success[0].value
    assert at.title[0].value == "Provisioned Ltd"


def test_the_slug_rule_is_written_under_the_field(make_app):
    at = make_app(PAGE, role="support").run()
    assert any(c.value.startswith("2-40 characters: lowercase letters, digits, underscores; start with a letter.")
               for c in at.caption)


def test_provision_validation_messages_sit_next_to_fields(make_app, ctx):
    at = make_app(PAGE, role="support").run()
    at.text_input(key="new_slug").input("Bad Slug")
    at.text_input(key="new_owner").input("not-an-email")
    at.button(key="FormSubmitter:provision-Provision").click().run()
    errors = [e.value for e in at.error]
    assert any("Invalid slug" in e for e in errors)
    assert any("company name is required" in e for e in errors)
    assert any(plain("not an e-mail") in e for e in errors)  # shown as text: escaped Markdown
    with ctx.session_factory() as s:
        assert s.scalar(select(Tenant)) is None


def test_provision_existing_slug_says_so(make_app, ctx, new_slug):
    slug = new_slug("dup")
    make_tenant(ctx, slug)
    at = make_app(PAGE, role="support").run()
    at.text_input(key="new_slug").input(slug)
    at.text_input(key="new_name").input("Again")
    at.button(key="FormSubmitter:provision-Provision").click().run()
    assert any("already exists" in e.value for e in at.error)


def _detail(make_app, slug, role):
    at = make_app(PAGE, role=role)
    at.query_params["tenant"] = slug
    return at.run()


def test_detail_shows_tenant_and_audit_trail(make_app, ctx, new_slug):
    slug = new_slug("det")
    make_tenant(ctx, slug, name="Detail GmbH")
    at = _detail(make_app, slug, "founder")
    assert not at.exception
    assert at.title[0].value == "Detail GmbH"
    assert [m.value for m in at.metric][:3] == ["active", "team", "default"]
    trail = at.dataframe[-1].value
    assert "tenant.provision" in trail["Action"].tolist()
    # founders read only: no action forms
    assert not any(e.label in ("Suspend", "Change plan") for e in at.expander)


def test_unknown_tenant_is_explained(make_app):
    at = _detail(make_app, "no_such_tenant", "support")
    assert plain("No tenant 'no_such_tenant'") in at.error[0].value


def test_support_suspends_with_reason_and_confirmation(make_app, ctx, new_slug):
    slug = new_slug("sus")
    make_tenant(ctx, slug)
    at = _detail(make_app, slug, "support")
    submit = f"FormSubmitter:suspend_{slug}-Suspend tenant"
    at.button(key=submit).click().run()
    assert any("Give a reason" in e.value for e in at.error)
    at.text_area(key=f"suspend_reason_{slug}").input("chargeback")
    at.button(key=submit).click().run()
    assert any("Tick the confirmation" in e.value for e in at.error)
    assert _tenant(ctx, slug).status == "active"
    at.checkbox(key=f"suspend_confirm_{slug}").check()
    at.button(key=submit).click().run()
    row = _tenant(ctx, slug)
    assert row.status == "suspended" and row.status_reason == "chargeback"
    assert "suspended" in at.success[0].value
    entry = _audit(ctx, "tenant.suspend")[0]
    assert entry.actor == "support-user" and entry.reason == "chargeback"


def test_support_resumes(make_app, ctx, new_slug, admin):
    from control_plane.services import tenants

    slug = new_slug("res")
    make_tenant(ctx, slug)
    tenants.suspend(ctx, admin, slug, "unpaid")
    at = _detail(make_app, slug, "support")
    at.button(key=f"FormSubmitter:resume_{slug}-Resume tenant").click().run()
    assert _tenant(ctx, slug).status == "active"
    assert _audit(ctx, "tenant.resume")[0].actor == "support-user"


def test_support_changes_plan_after_confirming(make_app, ctx, new_slug):
    slug = new_slug("pln")
    make_tenant(ctx, slug, plan="team")
    at = _detail(make_app, slug, "support")
    at.selectbox(key=f"plan_new_{slug}").select("enterprise")
    at.button(key=f"FormSubmitter:plan_{slug}-Change plan").click().run()
    assert _tenant(ctx, slug).plan_code == "team"
    at.checkbox(key=f"plan_confirm_{slug}").check()
    at.button(key=f"FormSubmitter:plan_{slug}-Change plan").click().run()
    assert _tenant(ctx, slug).plan_code == "enterprise"


def test_support_requests_archive_and_sees_the_service_answer(make_app, ctx, new_slug):
    slug = new_slug("arq")
    make_tenant(ctx, slug)
    at = _detail(make_app, slug, "support")
    assert not any(e.label == "Archive" for e in at.expander)  # admin only
    at.text_area(key=f"archive_reason_{slug}").input("customer left")
    at.checkbox(key=f"archive_confirm_{slug}").check()
    at.button(key=f"FormSubmitter:request_archive_{slug}-Request archive").click().run()
    assert not at.exception
    # Either the request went through (flash) or the service said why not; never a traceback.
    assert at.success or at.error


def test_admin_archive_needs_the_slug_typed(make_app, ctx, new_slug):
    slug = new_slug("arc")
    make_tenant(ctx, slug)
    at = _detail(make_app, slug, "admin")
    at.button(key=f"FormSubmitter:archive_{slug}-Archive tenant").click().run()
    assert any(f"Type the slug {slug}" in e.value for e in at.error)
    assert _tenant(ctx, slug).status == "active"


@pytest.mark.parametrize("role", ["founder", "oncall"])
def test_read_only_roles_get_no_actions(make_app, ctx, new_slug, role):
    slug = new_slug("ro")
    make_tenant(ctx, slug)
    at = _detail(make_app, slug, role)
    assert not at.exception
    assert not at.get("form")


class _Crash(Exception):
    pass


def _stuck_archiving(ctx, admin, slug: str, *, suspended: bool = False) -> None:
    """A tenant whose archive stopped right after it started (status archiving, access revoked)."""
    from control_plane.archive import service as archive_service
    from control_plane.services import tenants

    make_tenant(ctx, slug)
    if suspended:
        tenants.suspend(ctx, admin, slug, "unpaid")

    def crash(step: str) -> None:
        if step == "started":
            raise _Crash(step)

    with pytest.raises(_Crash):
        archive_service.archive_tenant(ctx, admin, slug, fault=crash)
    assert _tenant(ctx, slug).status == "archiving"


@pytest.mark.parametrize("before", ["active", "suspended"])
def test_admin_cancels_a_stuck_archive_after_confirming(make_app, ctx, admin, new_slug, before):
    slug = new_slug("cxl")
    _stuck_archiving(ctx, admin, slug, suspended=before == "suspended")
    at = _detail(make_app, slug, "admin")
    assert any(e.label == "Cancel archive" for e in at.expander)
    submit = f"FormSubmitter:cancel_archive_{slug}-Cancel archive"
    at.button(key=submit).click().run()
    assert any("Tick the confirmation to cancel the archive" in e.value for e in at.error)
    assert _tenant(ctx, slug).status == "archiving" and not _audit(ctx, "tenant.archive.cancel")
    at.checkbox(key=f"cancel_archive_confirm_{slug}").check()
    at.button(key=submit).click().run()
    assert not at.exception
    assert plain(f"Archive of {slug} cancelled: the tenant is {before} again.") in [s.value for s in at.success]
    assert _tenant(ctx, slug).status == before
    [entry] = _audit(ctx, "tenant.archive.cancel")
    assert (entry.actor, entry.before["status"], entry.after["status"]) == ("admin-user", "archiving", before)
    assert not any(e.label == "Cancel archive" for e in at.expander)  # the page shows the tenant as it is now


def test_support_cannot_cancel_an_archive(make_app, ctx, admin, new_slug):
    slug = new_slug("cxs")
    _stuck_archiving(ctx, admin, slug)
    at = _detail(make_app, slug, "support")
    assert not at.exception
    assert not any(e.label == "Cancel archive" for e in at.expander)
    assert any("No action applies to a tenant that is archiving" in c.value for c in at.caption)


def _whole_seconds(ctx, slug):
    """Seeded tenants carry whole-second times; one provisioned from the UI has fractions."""
    from sqlalchemy import text

    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE control_plane.tenants SET created_at = date_trunc('second', created_at), "
                          "updated_at = date_trunc('second', updated_at) WHERE slug = :s"), {"s": slug})


def provision_through_form(at, slug, name="Provisioned Ltd"):
    at.text_input(key="new_slug").input(slug)
    at.text_input(key="new_name").input(name)
    return at.button(key="FormSubmitter:provision-Provision").click().run()


@pytest.mark.parametrize("viewer", ["support", "founder"])
def test_the_list_survives_a_tenant_provisioned_from_the_form(make_app, ctx, new_slug, viewer):
    seeded = "a" + new_slug("seed")  # listed first (by slug), with whole seconds like the demo's
    make_tenant(ctx, seeded)
    _whole_seconds(ctx, seeded)
    slug = new_slug("prov")
    at = provision_through_form(make_app(PAGE, role="support", username="provisioner").run(), slug)
    assert not at.exception, at.exception
    assert _tenant(ctx, slug).status == "active"
    listed = make_app(PAGE, role=viewer).run()
    assert not listed.exception, listed.exception
    assert sorted(listed.dataframe[0].value["Slug"].tolist()) == sorted([seeded, slug])
    assert any(c.value.startswith("2 tenants") for c in listed.caption)


def test_the_list_reads_as_words(make_app, ctx, new_slug):
    from tests.ui.readable import assert_readable

    slug = new_slug("read")
    make_tenant(ctx, slug)  # no status reason yet: an empty cell, not "None"
    at = make_app("pages/tenants.py", role="support").run()
    assert_readable(at)
    listed = at.dataframe[0].value
    assert {"Slug", "Owner e-mail", "Created (UTC)", "Status reason", "Demo"} <= set(listed.columns)
    row = listed.set_index("Slug").loc[slug]
    assert row["Created (UTC)"].endswith(" UTC") and row["Status reason"] == "—" and row["Demo"] == "no"
