"""`tenants verify-schemas` reads one digest per schema and the lines of the differing ones only
(issue 19): every kind of hand-made drift is still found, fingerprints are the same as reading
every line, and neither the statements nor the rows read from a cluster follow the fleet's size."""

from __future__ import annotations

import psycopg
from psycopg import sql

from control_plane.fleet import drift
from tests.factories import OPERATOR, make_tenant
from tests.integration.fleet_helpers import raw


def _alter(ctx, statement: sql.Composable) -> None:
    with raw(ctx) as conn:
        conn.execute(statement)


def test_every_kind_of_drift_is_found_and_fingerprints_are_those_of_every_line(ctx, new_slug):
    slugs = {kind: new_slug("vd") for kind in ("clean", "old", "table", "column", "type", "index", "comment")}
    for kind, slug in slugs.items():
        make_tenant(ctx, slug, template_version=1 if kind == "old" else None)
    s = {kind: sql.Identifier(f"tenant_{slug}") for kind, slug in slugs.items()}
    _alter(ctx, sql.SQL("DROP TABLE {}.events").format(s["table"]))
    _alter(ctx, sql.SQL("ALTER TABLE {}.tasks ADD COLUMN notes text").format(s["column"]))
    _alter(ctx, sql.SQL("ALTER TABLE {}.users ALTER COLUMN full_name TYPE varchar(200)").format(s["type"]))
    _alter(ctx, sql.SQL("DROP INDEX {}.tasks_assignee_id_idx").format(s["index"]))
    _alter(ctx, sql.SQL("COMMENT ON SCHEMA {} IS 'control-plane tenant template v1'").format(s["comment"]))

    report = {r["tenant"]: r for r in drift.verify(ctx, OPERATOR)}
    got = {kind: report[slug] for kind, slug in slugs.items()}
    assert got["clean"]["status"] == got["old"]["status"] == "ok"
    assert got["clean"]["missing"] == got["clean"]["unexpected"] == []
    assert got["table"]["status"] == "drift" and "table events" in got["table"]["missing"]
    assert got["column"]["status"] == "drift" and got["column"]["unexpected"] == ["column tasks.notes text"]
    assert "column users.full_name character varying(200) not null" in got["type"]["unexpected"]
    assert "column users.full_name text not null" in got["type"]["missing"]
    assert got["index"]["missing"] == [
        "index CREATE INDEX tasks_assignee_id_idx ON tasks USING btree (assignee_id)"]
    assert got["comment"]["status"] == "drift"
    assert got["comment"]["unexpected"] == ["comment control-plane tenant template v1"]
    assert got["comment"]["fingerprint"] == got["comment"]["expected_fingerprint"]  # the shape is right
    # the server's digest is the one of every line read and hashed here, as before
    with psycopg.connect(ctx.clusters.catalog_url) as conn:
        lines = drift.fingerprints(conn, [f"tenant_{slug}" for slug in slugs.values()])
    for slug in slugs.values():
        assert report[slug]["fingerprint"] == drift.digest(lines[f"tenant_{slug}"])
    assert got["clean"]["expected_fingerprint"] == got["clean"]["fingerprint"]


class _Counter:
    """Every statement psycopg sends (catalog and clusters alike) and the rows each returned."""

    def __init__(self, monkeypatch) -> None:
        self.statements, self.rows = 0, 0
        original = psycopg.Cursor.execute

        def counted(cursor, query, params=None, **kwargs):
            result = original(cursor, query, params, **kwargs)
            self.statements += 1
            self.rows += max(cursor.rowcount, 0) if cursor.description is not None else 0
            return result

        monkeypatch.setattr(psycopg.Cursor, "execute", counted)


def _measure(ctx, monkeypatch) -> tuple[int, int, list[dict]]:
    with monkeypatch.context() as patch:
        counter = _Counter(patch)
        report = drift.verify(ctx, OPERATOR)
    return counter.statements, counter.rows, report


def test_statements_and_rows_read_do_not_follow_the_number_of_tenants(ctx, new_slug, monkeypatch):
    first = [new_slug("vn") for _ in range(3)]
    for slug in first:
        make_tenant(ctx, slug)
    small_statements, small_rows, report = _measure(ctx, monkeypatch)
    assert len(report) == 3 and {r["status"] for r in report} == {"ok"}
    for _ in range(27):
        make_tenant(ctx, new_slug("vn"))
    big_statements, big_rows, report = _measure(ctx, monkeypatch)
    assert len(report) == 30 and {r["status"] for r in report} == {"ok"}
    assert big_statements == small_statements
    # one digest row per schema, never a schema's ~100 lines (27 more tenants: 27 more rows, plus
    # the catalog's own 27 rows)
    assert big_rows - small_rows <= 2 * 27


def test_a_digest_that_differs_with_the_same_lines_is_ok(ctx, new_slug):
    """A column added then dropped moves the next attnum: the digest differs, the lines do not."""
    same, plain_one = new_slug("vs"), new_slug("vs")
    make_tenant(ctx, same)
    make_tenant(ctx, plain_one)
    _alter(ctx, sql.SQL("ALTER TABLE {}.users ADD COLUMN scratch int").format(sql.Identifier(f"tenant_{same}")))
    _alter(ctx, sql.SQL("ALTER TABLE {}.users DROP COLUMN scratch").format(sql.Identifier(f"tenant_{same}")))
    report = {r["tenant"]: r for r in drift.verify(ctx, OPERATOR)}
    assert report[same]["status"] == "ok" and report[same]["missing"] == report[same]["unexpected"] == []
    assert report[same]["fingerprint"] == report[plain_one]["fingerprint"] == report[same]["expected_fingerprint"]


def test_reconcile_reads_each_cluster_in_the_same_statements_whatever_the_fleet(ctx, new_slug, monkeypatch):
    from datetime import UTC, datetime

    from control_plane.services import reconcile

    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

    def counted() -> int:
        with monkeypatch.context() as patch:
            counter = _Counter(patch)
            reconcile.find_drift(ctx, now)
        return counter.statements

    for _ in range(3):
        make_tenant(ctx, new_slug("rn"))
    small = counted()
    for _ in range(27):
        make_tenant(ctx, new_slug("rn"))
    assert counted() == small


# One hand-made change per schema, of what the digest hashes field by field (queries._DIGESTS):
# a default, NOT NULL, identity, a check's expression, a foreign key's action, an index's columns
# and its uniqueness. Each must move its schema's digest, or the schema is never read and passes.
_CHANGES = {
    "default": "ALTER TABLE {s}.tasks ALTER COLUMN status SET DEFAULT 'done'",
    "not_null": "ALTER TABLE {s}.tasks ALTER COLUMN title DROP NOT NULL",
    "identity": "ALTER TABLE {s}.events ALTER COLUMN id SET GENERATED BY DEFAULT",
    "check": "ALTER TABLE {s}.tasks DROP CONSTRAINT tasks_status_check, "
             "ADD CONSTRAINT tasks_status_check CHECK (status IN ('open', 'done'))",
    "fk_action": "ALTER TABLE {s}.comments DROP CONSTRAINT comments_author_id_fkey, ADD CONSTRAINT "
                 "comments_author_id_fkey FOREIGN KEY (author_id) REFERENCES {s}.users (id) ON DELETE CASCADE",
    "index_columns": "DROP INDEX {s}.tasks_project_id_status_idx; "
                     "CREATE INDEX tasks_project_id_status_idx ON {s}.tasks (status, project_id)",
    "index_unique": "DROP INDEX {s}.events_occurred_at_idx; "
                    "CREATE UNIQUE INDEX events_occurred_at_idx ON {s}.events (occurred_at)",
}


def test_one_changed_schema_among_many_is_found_whatever_it_changed(ctx, new_slug):
    clean = [new_slug("vc") for _ in range(12)]
    changed = {kind: new_slug("vc") for kind in _CHANGES}
    for slug in clean + list(changed.values()):
        make_tenant(ctx, slug)
    for kind, slug in changed.items():
        _alter(ctx, sql.SQL(_CHANGES[kind]).format(s=sql.Identifier(f"tenant_{slug}")))

    report = {r["tenant"]: r for r in drift.verify(ctx, OPERATOR)}
    assert {report[slug]["status"] for slug in clean} == {"ok"}
    got = {kind: report[slug] for kind, slug in changed.items()}
    assert {kind: r["status"] for kind, r in got.items()} == {kind: "drift" for kind in _CHANGES}
    assert got["default"]["unexpected"] == ["column tasks.status text not null default 'done'::text"]
    assert got["not_null"]["unexpected"] == ["column tasks.title text"]
    assert got["identity"]["unexpected"] == ["column events.id bigint not null identity by default"]
    assert got["check"]["unexpected"] == [
        "constraint tasks.tasks_status_check CHECK ((status = ANY (ARRAY['open'::text, 'done'::text])))"]
    assert got["fk_action"]["unexpected"] == [
        "constraint comments.comments_author_id_fkey FOREIGN KEY (author_id) REFERENCES users(id) ON DELETE CASCADE"]
    assert got["index_columns"]["unexpected"] == [
        "index CREATE INDEX tasks_project_id_status_idx ON tasks USING btree (status, project_id)"]
    assert got["index_unique"]["unexpected"] == [
        "index CREATE UNIQUE INDEX events_occurred_at_idx ON events USING btree (occurred_at)"]
    for r in got.values():
        assert r["missing"] and r["fingerprint"] != r["expected_fingerprint"]
