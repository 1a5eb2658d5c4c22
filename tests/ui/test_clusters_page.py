"""Clusters screen (AppTest): every cluster's posture for on-call and admins, the SQL to run, and
the fix for admins only behind a ticked confirmation; refused for founders and support."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from control_plane.db.models import AuditEntry, Cluster
from tests.integration.test_cluster_posture import URL_ENV, loose_database


@pytest.fixture
def loose(ctx, pg_server, monkeypatch) -> str:
    _, url = loose_database(pg_server)
    monkeypatch.setenv(URL_ENV, url)
    with ctx.session_factory() as session:
        session.add(Cluster(name="loose", url_env=URL_ENV, accepts_tenants=False))
        session.commit()
    return url


def test_oncall_sees_each_cluster_and_the_sql_but_no_fix(make_app, loose):
    at = make_app("pages/clusters.py", role="oncall").run()
    assert not at.exception
    headers = [h.value for h in at.subheader]
    assert any(h.startswith("default") and ("ok" in h or "warn" in h) for h in headers)
    assert any(h.startswith("loose") and "fail" in h for h in headers)
    frames = {f.proto.id: f.value for f in at.dataframe}
    assert frames and any("PUBLIC may create objects" in list(f["Check"]) for f in frames.values())
    assert any('REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;' in c.value for c in at.code)
    assert not at.get("form") and not [b for b in at.button if b.label == "Revoke"]


def test_admin_fixes_only_after_ticking_the_confirmation(make_app, ctx, loose):
    at = make_app("pages/clusters.py", role="admin").run()
    assert not at.exception
    at.button(key="FormSubmitter:posture_fix_loose-Revoke").click().run()
    assert "Tick the confirmation" in at.error[0].value
    with ctx.session_factory() as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "cluster.posture.fix")) is None

    at.checkbox(key="posture_fix_confirm_loose").check()
    at.button(key="FormSubmitter:posture_fix_loose-Revoke").click().run()
    assert not at.exception
    assert any("revoked what could be revoked" in s.value for s in at.success)
    headers = [h.value for h in at.subheader]
    assert not any(h.startswith("loose") and "fail" in h for h in headers)
    with ctx.session_factory() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "cluster.posture.fix"))
    assert entry.actor == "admin-user" and entry.after["public_create"] == "ok"


@pytest.mark.parametrize("role", ["founder", "support"])
def test_refused_for_other_roles(make_app, role):
    at = make_app("pages/clusters.py", role=role).run()
    assert "cannot open this page" in at.error[0].value
    assert not at.dataframe
