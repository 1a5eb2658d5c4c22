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
