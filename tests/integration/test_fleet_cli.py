"""`tenants migrations|migrate|verify-schemas` and `provision --template-version` through the CLI,
on real schemas; drift found after a hand-made change; bad input answered with one line."""

from __future__ import annotations

import json

import pytest
from psycopg import sql

from tests.integration.fleet_helpers import catalog_version, raw


def _provision(cli, slug, version=None) -> dict:
    extra = ["--template-version", str(version)] if version else []
    code, out, err = cli("tenants", "provision", slug, "--name", slug.title(), "--plan", "team", "--format", "json",
                         *extra)
    assert code == 0, err
    return json.loads(out)


def test_provision_at_an_older_version_then_migrate_in_waves(cli, ctx, new_slug):
    slugs = [new_slug("c") for _ in range(3)]
    for slug in slugs:
        assert _provision(cli, slug, 1)["template_version"] == 1
    code, out, _ = cli("tenants", "migrations", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["latest"] == 3 and data["revisions"][0]["tenants"] == 3
    code, out, _ = cli("tenants", "migrate", "--dry-run", "--waves", "34,100")
    plan = json.loads(out)
    assert code == 0 and [len(w["tenants"]) for w in plan["waves"]] == [2, 1] and plan["target_version"] == 3
    with raw(ctx) as conn:
        assert {catalog_version(conn, s) for s in slugs} == {1}  # the dry run changed nothing
    code, out, err = cli("tenants", "migrate", "--waves", "34,100", "--soak", "0")
    assert code == 0, err
    run = json.loads(out)
    assert run["status"] == "completed" and "wave 1: 2/2" in err
    code, out, _ = cli("tenants", "migrate", "status", str(run["id"]), "--format", "json")
    assert {r["status"] for r in json.loads(out)["results"]} == {"applied"}
    code, out, err = cli("tenants", "migrate", "--soak", "0")
    assert code == 0 and json.loads(out)["run"] is None and "Nothing to do" in err


def test_verify_schemas_reports_a_hand_made_change_and_repairs_nothing(cli, ctx, new_slug):
    clean, old, changed = new_slug("d"), new_slug("d"), new_slug("d")
    _provision(cli, clean)
    _provision(cli, old, 1)
    _provision(cli, changed)
    code, out, _ = cli("tenants", "verify-schemas", "--format", "json")
    assert code == 0 and {r["status"] for r in json.loads(out)} == {"ok"}
    with raw(ctx) as conn:
        conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN notes text").format(
            sql.Identifier(f"tenant_{changed}", "tasks")))
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(f"tenant_{changed}", "tasks_due_at_idx")))
    code, out, err = cli("tenants", "verify-schemas", "--format", "json")
    report = {r["tenant"]: r for r in json.loads(out)}
    assert code == 1 and "1 differ" in err
    assert report[clean]["status"] == report[old]["status"] == "ok"
    assert report[changed]["status"] == "drift"
    assert report[changed]["unexpected"] == ["column tasks.notes text"]
    assert report[changed]["missing"] == ["index CREATE INDEX tasks_due_at_idx ON tasks USING btree (due_at)"]
    with raw(ctx) as conn:  # reported, never repaired
        assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = %s "
                            "AND column_name = 'notes'", (f"tenant_{changed}",)).fetchone()[0] == 1


@pytest.mark.parametrize("argv, message", [
    (["--waves", "100,5"], "--waves must rise"),
    (["--waves", "5,25"], "--waves must rise"),
    (["--waves", "0,100"], "--waves must rise"),
    (["--waves", "abc"], "--waves must be percentages"),
    (["--waves", "5,,100"], "--waves must be percentages"),
    (["--soak", "-1"], "--soak must"),
    (["--soak", "10x"], "--soak must"),
    (["--soak", "999999h"], "--soak must"),
    (["--to", "99"], "Template version 99 does not exist"),
    (["--to", "0"], "Template version 0 does not exist"),
    (["--max-failures", "-1"], "max failures must"),
    (["--concurrency", "0"], "concurrency must"),
    (["--tenants", "Robert'); DROP TABLE x;--"], "slug"),
    (["--tenants", ","], "--tenants must name"),
    (["halt"], "needs a run id"),
    (["rollback", "12345"], "No migration run 12345"),
    (["status", "12345"], "No migration run 12345"),
])
def test_bad_input_is_one_line_and_changes_nothing(cli, argv, message):
    code, out, err = cli("tenants", "migrate", *argv)
    assert code != 0 and message in err and err.count("\n") == 1 and "Traceback" not in err and out == ""


def test_provision_refuses_a_template_version_that_does_not_exist(cli, new_slug):
    code, _, err = cli("tenants", "provision", new_slug(), "--name", "X", "--plan", "team", "--template-version", "7")
    assert code == 2 and "versions are 1 to 3" in err and err.count("\n") == 1
