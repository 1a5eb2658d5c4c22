"""Moving a tenant from its page (ui/tenant_move.py, docs/moves.md) on a real catalog and a second
real PostgreSQL server: only admins get the form and the buttons; the slug must be typed; a move
starts in a thread of the app and completes; a running move shows its progress, Cancel (confirmed)
and Resume; the history and its CSV; the noisy-neighbour flag links to the move."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from control_plane.db.models import AuditEntry, NoisyNeighbourFlag, TenantMove
from control_plane.moves import service as moves
from control_plane.moves.service import MoveOptions
from control_plane.services import tenants
from tests import moto_server
from tests.factories import make_tenant
from tests.polling import wait_for
from tests.ui import test_csv_downloads as csv_tests
from ui.text import plain

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures: archives go to moto's S3
downloads = csv_tests.downloads  # fixture: the files the download buttons were handed
PAGE = "pages/tenants.py"
FAST = MoveOptions(poll_s=0.02, sync_timeout_s=60, catchup_timeout_s=30)


class Crash(Exception):
    pass


def _detail(make_app, slug, role, **params):
    at = make_app(PAGE, role=role)
    at.query_params["tenant"] = slug
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _moves(ctx, slug):
    with ctx.session_factory() as s:
        return list(s.scalars(select(TenantMove).where(TenantMove.tenant_slug == slug)))


def _ended(ctx, admin, slug):
    return wait_for(f"the move of {slug} to end",
                    lambda: (m := moves.current(ctx, admin, slug)) is not None and m.status != "running" and m,
                    seconds=90)


def _texts(at) -> list[str]:
    return [e.value for kind in ("markdown", "caption", "success", "warning", "info", "error")
            for e in at.get(kind)]


@pytest.mark.parametrize("role", ["founder", "support", "oncall"])
def test_other_roles_cannot_move(make_app, ctx, cluster_b, new_slug, role):
    slug = new_slug("mvr")
    make_tenant(ctx, slug)
    at = _detail(make_app, slug, role, move="1")
    assert not at.exception, at.exception
    assert "Cluster moves" in [h.value for h in at.subheader]
    assert not any(e.label == "Move to another cluster" for e in at.expander)
    assert not any(b.label in ("Start move", "Cancel move", "Resume move") for b in at.button)
    assert any("never moved" in c.value for c in at.caption)


def test_admin_confirms_and_the_move_runs_to_completion(make_app, ctx, admin, cluster_b, new_slug):
    slug = new_slug("mva")
    make_tenant(ctx, slug)
    at = _detail(make_app, slug, "admin")
    [form] = [e for e in at.expander if e.label == "Move to another cluster"]
    targets = form.dataframe[0].value
    assert list(targets["cluster"]) == ["b"] and targets.iloc[0]["new tenants"] == "only when named"
    at.selectbox(key=f"move_target_{slug}").select("b").run()
    assert any("Online move possible" in s.value for s in at.success)
    submit = f"FormSubmitter:move_{slug}-Start move"
    at.text_input(key=f"move_typed_{slug}").input(slug[:-1])
    at.button(key=submit).click().run()
    assert any(f"Type the slug {slug} exactly" in e.value for e in at.error)
    assert _moves(ctx, slug) == []
    at.text_input(key=f"move_typed_{slug}").input(slug)
    at.button(key=submit).click().run()
    assert not at.exception, at.exception
    assert any(plain("started (online)") in s.value for s in at.success)
    [row] = _moves(ctx, slug)
    assert row.created_by == "admin-user" and row.mode == "online"
    done = _ended(ctx, admin, slug)
    assert done.status == "completed", done.error
    assert tenants.show(ctx, admin, slug).cluster == "b"
    at.run()  # what the page shows once the move has ended (its progress fragment reruns the page)
    assert any(f"Move #{row.id} completed" in s.value and "now runs on cluster b" in s.value for s in at.success)

    at = _detail(make_app, slug, "founder")  # read-only roles see the history and its CSV
    assert [m.value for m in at.metric][2] == "b"
    history = at.dataframe[-2].value  # the audit trail is last
    assert list(history["status"]) == ["completed"] and list(history["to"]) == ["b"]
    assert history.iloc[0]["steps"] == "10 / 10" and history.iloc[0]["writes blocked ms"] >= 0
    assert any(b.proto.label == "Download CSV" for b in at.get("download_button"))


def test_a_move_that_can_only_run_offline_says_what_is_missing(make_app, ctx, cluster_b, new_slug, monkeypatch):
    from control_plane.moves import preflight

    slug = new_slug("mvo")
    make_tenant(ctx, slug)
    read = preflight.ServerFacts.read
    # The source as a server without logical replication would report itself (the real servers here
    # all have it on): the rest of the check is the real one.
    monkeypatch.setattr(preflight.ServerFacts, "read", classmethod(
        lambda cls, conn: read(conn).__class__(**{**read(conn).__dict__, "wal_level": "replica"})))
    at = _detail(make_app, slug, "admin")
    at.selectbox(key=f"move_target_{slug}").select("b").run()
    [warning] = [w.value for w in at.warning if "not possible" in w.value]
    assert plain("wal_level is replica (set wal_level = logical and restart)") in warning
    at.text_input(key=f"move_typed_{slug}").input(slug)
    at.button(key=f"FormSubmitter:move_{slug}-Start move").click().run()
    assert any("can only run offline" in e.value for e in at.error)
    assert _moves(ctx, slug) == []


def test_running_move_shows_progress_and_cancel_needs_confirming(make_app, ctx, admin, cluster_b, new_slug):
    slug = new_slug("mvc")
    make_tenant(ctx, slug)
    moves.request(ctx, admin, slug, "b", FAST)  # recorded; no process drives it
    at = _detail(make_app, slug, "support")
    assert not at.exception, at.exception
    assert any(plain("0 of 10 steps done") in p.proto.text or "0 of 10 steps done" in p.proto.text
               for p in at.get("progress"))
    assert not any(b.label in ("Cancel move", "Resume move") for b in at.button)  # read-only

    at = _detail(make_app, slug, "admin")
    assert any("No process is driving this move" in w.value for w in at.warning)
    assert {b.label for b in at.button} >= {"Cancel move", "Resume move"}
    at.button(key=f"move_cancel_{slug}").click().run()
    assert any("Tick the confirmation to cancel the move" in e.value for e in at.error)
    assert moves.current(ctx, admin, slug).status == "running"
    at.checkbox(key=f"move_cancel_confirm_{slug}").check()
    at.button(key=f"move_cancel_{slug}").click().run()
    assert not at.exception, at.exception
    assert any(plain("cancelled: the tenant stays on default") in s.value for s in at.success)
    assert moves.current(ctx, admin, slug).status == "cancelled"
    assert not any("steps done" in p.proto.text for p in at.get("progress"))  # plan allowances remain
    assert list(at.dataframe[-2].value["status"]) == ["cancelled"]


def test_resume_drives_a_stopped_move_and_is_refused_while_another_process_drives_it(
        make_app, ctx, admin, cluster_b, new_slug):
    slug = new_slug("mvs")
    make_tenant(ctx, slug)
    move = moves.request(ctx, admin, slug, "b", FAST)
    at = _detail(make_app, slug, "admin")
    with moves._driver_lock(ctx, move.id):  # a CLI run took it on meanwhile
        at.button(key=f"move_resume_{slug}").click().run()
        assert any("being driven by another process" in e.value for e in at.error)
    at.button(key=f"move_resume_{slug}").click().run()
    assert any("resumed from its last step" in s.value for s in at.success)
    assert _ended(ctx, admin, slug).status == "completed"
    with ctx.session_factory() as s:
        assert s.scalar(select(AuditEntry.actor).where(AuditEntry.action == "tenant.move.resume")) == "admin-user"


def test_after_the_cut_over_no_cancel_and_the_blocked_time_shows(make_app, ctx, admin, cluster_b, new_slug):
    slug = new_slug("mvx")
    make_tenant(ctx, slug)

    def crash(step):
        if step == "cleaned_up":
            raise Crash(step)

    with pytest.raises(Crash):
        moves.start(ctx, admin, slug, "b", FAST, fault=crash)  # killed after the switch
    blocked = moves.current(ctx, admin, slug).writes_blocked_ms
    at = _detail(make_app, slug, "admin")
    assert not at.exception, at.exception
    assert any(f"Writes were blocked for {blocked:,} ms" in c.value for c in at.caption)
    assert not any(b.label == "Cancel move" for b in at.button)
    assert any(b.label == "Resume move" for b in at.button)
    at.button(key=f"move_resume_{slug}").click().run()
    assert _ended(ctx, admin, slug).status == "completed"


def test_noisy_flag_links_admins_to_the_move(make_app, ctx, new_slug):
    slug = new_slug("noisy")
    make_tenant(ctx, slug)
    with ctx.session_factory() as s:
        s.add(NoisyNeighbourFlag(tenant_slug=slug, metric="requests", value=500_000, baseline=50_000, factor=10,
                                 recommendation=f"Move {slug} to its own cluster"))
        s.commit()
    for role, shown in (("admin", True), ("support", False), ("founder", False)):
        at = make_app("streamlit_app.py", role=role, username=f"{role}-noisy").run()
        at = at.switch_page("pages/usage.py").run()
        assert not at.exception, at.exception
        links = [link for link in at.main.get("page_link") if "to another cluster" in link.label]
        assert bool(links) == shown, role
        if shown:
            assert links[0].proto.page.endswith("tenants")
            assert f"tenant={slug}" in links[0].proto.query_string and "move=1" in links[0].proto.query_string


def test_an_unreachable_target_is_explained_and_offers_no_form(make_app, ctx, new_slug, monkeypatch):
    from control_plane.db.models import Cluster

    monkeypatch.delenv("CP_CLUSTER_URL_GONE", raising=False)
    with ctx.session_factory() as s:
        s.add(Cluster(name="gone", url_env="CP_CLUSTER_URL_GONE", accepts_tenants=False))
        s.commit()
    slug = new_slug("mvu")
    make_tenant(ctx, slug)
    at = _detail(make_app, slug, "admin")
    at.selectbox(key=f"move_target_{slug}").select("gone").run()
    assert not at.exception, at.exception
    assert any("CP" in e.value and "GONE is not set" in e.value for e in at.error)
    assert not any(b.label == "Start move" for b in at.get("button") + at.get("form_submit_button"))
    assert _moves(ctx, slug) == []


def test_typed_text_in_a_stopped_move_is_shown_as_text(make_app, ctx, admin, cluster_b, new_slug, downloads):
    from datetime import UTC, datetime

    from control_plane.moves import ledger

    slug = new_slug("mvt")
    make_tenant(ctx, slug)
    move = moves.request(ctx, admin, slug, "b", FAST)
    hostile = ("=HYPERLINK(\"http://127.0.0.1:9/x\") ![p](http://127.0.0.1:9/p) [x](http://127.0.0.1:9/x) "
               "<img src=x> :red[boom] www.evil.example")
    ledger.set_fields(ctx, move.id, datetime(2026, 3, 1, tzinfo=UTC), error=hostile)
    at = _detail(make_app, slug, "support")
    assert f"Stopped: {plain(hostile)}" in [w.value for w in at.warning]
    assert at.dataframe[-2].value.iloc[0]["error"] == hostile  # a dataframe cell is plain text already
    csv_text = downloads[f"moves_{slug}.csv"]
    [row] = csv_tests.rows(csv_text)
    assert (row["status"], row["to"], row["steps"]) == ("running", "b", "0 / 10")
    assert row["error"] == "'" + hostile  # a spreadsheet shows it, never runs it
    csv_tests.assert_no_formula(csv_text)
    moves.cancel(ctx, admin, slug)


def test_an_archived_tenant_gets_no_form(make_app, ctx, aws, admin, new_slug):
    from control_plane.archive import service as archive_service

    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    slug = new_slug("mvn")
    make_tenant(ctx, slug)
    archive_service.archive_tenant(ctx, admin, slug)
    at = _detail(make_app, slug, "admin", move="1")
    assert not at.exception, at.exception
    assert not any(e.label == "Move to another cluster" for e in at.expander)
    assert any("A tenant that is archived cannot move" in c.value for c in at.caption)
