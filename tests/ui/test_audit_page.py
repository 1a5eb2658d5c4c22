"""Audit log page: entries from real actions, filters, empty state, CSV."""

from __future__ import annotations

import pytest

from control_plane.errors import Forbidden
from control_plane.services import tenants
from tests.factories import make_tenant

PAGE = "pages/audit.py"


@pytest.fixture
def history(ctx, new_slug, admin, support):
    a, b = new_slug("aud"), new_slug("aud")
    make_tenant(ctx, a)
    make_tenant(ctx, b)
    tenants.suspend(ctx, support, a, "fraud check")
    return a, b


@pytest.mark.parametrize("role", ["founder", "support", "oncall", "admin"])
def test_every_role_reads_the_log(make_app, history, role):
    at = make_app(PAGE, role=role).run()
    assert not at.exception
    actions = set(at.dataframe[0].value["Action"])
    assert {"tenant.provision", "tenant.suspend"} <= actions


def test_filters_by_tenant_actor_and_action(make_app, history):
    _, b = history
    at = make_app(PAGE, role="founder").run()
    at.text_input(key="audit_tenant").input(b).run()
    assert set(at.dataframe[0].value["Tenant"]) == {b}
    at.text_input(key="audit_tenant").input("").run()
    at.selectbox(key="audit_actor").select("test-support").run()
    frame = at.dataframe[0].value
    assert list(frame["Action"]) == ["tenant.suspend"] and frame["Reason"][0] == "fraud check"
    at.selectbox(key="audit_actor").set_value(None)
    at.multiselect(key="audit_actions").select("tenant.provision").run()
    assert set(at.dataframe[0].value["Action"]) == {"tenant.provision"}


def test_text_and_outcome_filters(make_app, ctx, history, founder):
    a, _ = history
    with pytest.raises(Forbidden):  # a refusal is audited whatever the UI shows
        tenants.suspend(ctx, founder, a, "not mine to do")
    at = make_app(PAGE, role="admin").run()
    at.multiselect(key="audit_outcomes").select("denied").run()
    frame = at.dataframe[0].value
    assert list(frame["Actor"]) == ["test-founder"] and list(frame["Action"]) == ["tenant.suspend"]
    at.multiselect(key="audit_outcomes").unselect("denied")
    at.text_input(key="audit_text").input("FRAUD").run()
    assert list(at.dataframe[0].value["Reason"]) == ["fraud check"]


def test_empty_result_is_explained(make_app, history):
    at = make_app(PAGE, role="founder").run()
    at.text_input(key="audit_tenant").input("nobody_here").run()
    assert "No audit entries match" in at.info[0].value


def test_csv_download_is_offered(make_app, history):
    at = make_app(PAGE, role="founder").run()
    assert at.get("download_button")


def test_the_log_reads_as_words_not_data(make_app, history):
    from tests.ui.readable import assert_readable

    at = make_app(PAGE, role="admin").run()
    assert_readable(at)
    frame = at.dataframe[0].value
    assert {"When (UTC)", "Role", "Tenant", "Change", "Details"} <= set(frame.columns)
    assert "before" not in frame.columns and "Before" not in frame.columns
    suspended = frame[frame["Action"] == "tenant.suspend"].iloc[0]
    assert "status: active → suspended" in suspended["Change"]
    assert suspended["When (UTC)"].endswith(" UTC")
