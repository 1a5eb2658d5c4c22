"""The Migrations page through AppTest: revisions and versions, a rollout started (queued for the
worker), the run's results, halt with confirmation; read-only roles see no controls."""

from __future__ import annotations

from control_plane.fleet import service
from control_plane.fleet.options import Options
from tests.factories import OPERATOR, make_tenant
from tests.ui.readable import assert_readable
from ui.text import plain


def test_admin_starts_a_queued_rollout_and_halts_it(make_app, ctx, new_slug):
    for _ in range(3):
        make_tenant(ctx, new_slug("m"), template_version=1)
    at = make_app("pages/migrations.py", role="admin").run()
    assert not at.exception
    assert list(at.dataframe[0].value["Version"]) == [1, 2, 3]
    assert "No migration run yet." in [i.value for i in at.info]
    at.text_input(key="migrations_soak").input("0")
    at.button[-1].click().run()  # not confirmed: refused
    assert plain("Tick the box") in at.error[0].value
    at.checkbox(key="migrations_start_confirm").check()
    at.button[-1].click().run()
    assert not at.exception
    run = service.status(ctx, OPERATOR)
    assert run.status == "planned" and run.queued and run.target_version == 3
    at.run()
    assert f"Run {run.id}: planned" in at.subheader[0].value
    assert at.button(key="migrations_halt").disabled  # not confirmed yet
    at.checkbox(key="migrations_confirm").check().run()
    at.button(key="migrations_halt").click().run()
    assert not at.exception
    assert service.status(ctx, OPERATOR, run.id).status == "halted"
    assert not at.checkbox(key="migrations_confirm").value  # unticked: the next action is confirmed anew


def test_founders_and_support_read_without_controls(make_app, ctx, new_slug):
    make_tenant(ctx, new_slug("m"), template_version=2)
    service.start(ctx, OPERATOR, Options(soak_seconds=0), queue=True)
    for role in ("founder", "support"):
        at = make_app("pages/migrations.py", role=role, username=f"{role}-{new_slug()}").run()
        assert not at.exception and at.title[0].value == "Migrations"
        assert not [b for b in at.button if b.key in ("migrations_halt", "migrations_rollback")]
        assert not at.checkbox


def test_a_typed_soak_that_is_not_a_duration_is_one_message(make_app, ctx, new_slug):
    make_tenant(ctx, new_slug("m"), template_version=1)
    at = make_app("pages/migrations.py", role="oncall").run()
    at.text_input(key="migrations_soak").input("**10m**<script>")
    at.checkbox(key="migrations_start_confirm").check()
    at.button[-1].click().run()
    assert not at.exception and plain("--soak must be a duration") in at.error[0].value
    assert plain("'**10m**<script>'") in at.error[0].value  # typed text shown as text
    assert service.status(ctx, OPERATOR) is None


def _rolled_out_with_labels(ctx, new_slug) -> int:
    from psycopg import sql

    from tests.integration.fleet_helpers import raw

    slug = new_slug("m")
    make_tenant(ctx, slug, template_version=1)
    started = service.start(ctx, OPERATOR, Options(target=3, waves=(100,), soak_seconds=0, tenants=(slug,)))
    assert service.drive(ctx, OPERATOR, started.run_id).status == "completed"
    with raw(ctx) as conn:
        conn.execute(sql.SQL("INSERT INTO {} (name) VALUES ('a'), ('b')").format(
            sql.Identifier(f"tenant_{slug}", "labels")))
    return started.run_id


def test_a_rollback_that_drops_rows_says_how_many_and_is_refused_to_oncall(make_app, ctx, new_slug):
    run_id = _rolled_out_with_labels(ctx, new_slug)
    at = make_app("pages/migrations.py", role="oncall").run()
    at.checkbox(key="migrations_confirm").check().run()
    assert not at.exception
    assert any("drops 2 row" in w.value for w in at.warning)
    assert at.checkbox(key="migrations_allow_data_loss").disabled  # an admin's decision
    at.button(key="migrations_rollback").click().run()
    assert not at.exception and "only an admin may" in at.error[0].value
    assert service.status(ctx, OPERATOR, run_id).status == "completed"


def test_an_admin_must_confirm_the_rows_a_rollback_drops(make_app, ctx, new_slug):
    run_id = _rolled_out_with_labels(ctx, new_slug)
    at = make_app("pages/migrations.py", role="admin").run()
    at.checkbox(key="migrations_confirm").check().run()
    at.button(key="migrations_rollback").click().run()  # the rows not confirmed: refused, nothing changed
    assert not at.exception and "allow" in at.error[0].value
    assert service.status(ctx, OPERATOR, run_id).status == "completed"


def test_dry_run_shows_the_plan_and_changes_nothing(make_app, ctx, new_slug):
    for _ in range(3):
        make_tenant(ctx, new_slug("m"), template_version=1)
    at = make_app("pages/migrations.py", role="oncall").run()
    at.text_input(key="migrations_waves").input("50,100")
    at.button(key="migrations_dry_run").click().run()
    assert not at.exception
    note = next(i.value for i in at.info if "Dry run" in i.value)
    expected = service.plan(ctx, OPERATOR, Options(waves=(50, 100))).as_dict()  # what `migrate --dry-run` prints
    assert f"{expected['tenants']:,} tenant(s) would move to v3 in 2 wave(s)" in note
    plan = at.dataframe[-1].value  # drawn under the form
    assert list(plan["Wave"]) == [1, 2] and plan["Tenants"].sum() == expected["tenants"]
    assert service.status(ctx, OPERATOR) is None  # nothing started


def test_counts_follow_the_run_and_the_start_message_goes_when_it_ends(make_app, ctx, new_slug):
    slugs = [new_slug("m") for _ in range(3)]
    for slug in slugs:
        make_tenant(ctx, slug, template_version=2)
    at = make_app("pages/migrations.py", role="admin").run()
    before = at.dataframe[0].value.set_index("Version")["Tenants"]
    at.text_input(key="migrations_soak").input("0")
    at.text_input(key="migrations_waves").input("100")
    at.checkbox(key="migrations_start_confirm").check()
    at.button(key="migrations_start").click().run()
    assert not at.exception
    run = service.status(ctx, OPERATOR)
    assert any("queued" in s.value.lower() or "run" in s.value.lower() for s in at.success)
    assert not at.checkbox(key="migrations_start_confirm").value  # unticked once the rollout started
    assert service.drive(ctx, OPERATOR, run.id).status == "completed"
    at.run()
    assert not at.exception
    assert at.subheader[0].value.startswith(f"Run {run.id}: completed")
    after = at.dataframe[0].value.set_index("Version")["Tenants"]
    assert after[3] == before[3] + before[2] and after[2] == 0  # the table agrees with the finished run
    assert not at.success  # the start message went with the run
    assert_readable(at)


def test_the_live_fragment_draws_the_versions_with_the_run(ctx, new_slug):
    """The 5-second fragment itself draws the versions table and chart, so they refresh with the
    run's status without a reload (a fragment tick does not rerun the rest of the page)."""
    import time

    from streamlit.testing.v1 import AppTest

    from control_plane.services import users

    make_tenant(ctx, new_slug("m"), template_version=1)
    if "fragment-reader" not in {u.username for u in users.list_users(ctx, OPERATOR)}:
        users.add_user(ctx, OPERATOR, "fragment-reader", "founder", "secret-pw-long-enough")

    def fragment_only():
        from ui.context import app_context
        from ui.migration_run import current_run

        current_run(app_context())

    at = AppTest.from_function(fragment_only, default_timeout=30)
    at.session_state["cp_auth"] = {"username": "fragment-reader", "role": "founder", "at": time.time()}
    at.run()
    assert not at.exception
    assert list(at.dataframe[0].value["Version"]) == [1, 2, 3]
    assert at.get("plotly_chart")
