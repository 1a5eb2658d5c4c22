"""Raw checks in their two stored forms (recent rows, hour rows): every reader answers the same
whichever form a check is in; compaction, merging, thawing, pruning; migration 0006 moves the old
layout's rows without losing any."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from alembic import command
from sqlalchemy import text

from control_plane.auth.permissions import Actor, Role
from control_plane.db import migrate
from control_plane.db.engine import make_engine
from control_plane.db.models import MaintenanceWindow
from control_plane.errors import InvalidInput
from control_plane.uptime import importer, incidents, maintenance, raw, summary, views
from control_plane.uptime.raw import CheckRow
from control_plane.uptime.report import report
from control_plane.uptime.rollup import roll_up
from control_plane.uptime.runs import detect_runs
from control_plane.uptime.store import insert_checks
from control_plane.uptime.windows import floor_hour
from tests import raw_checks
from tests.factories import make_tenant

T0 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
FAR = datetime(2100, 1, 1, tzinfo=UTC)
OPERATOR = Actor("storage-test", Role.ADMIN)


def rows_for(target: str, pattern: str, start: datetime = T0, step: timedelta = MIN, tenant: str | None = None):
    """'.' ok, 'x' failed (with an error, no latency); a few seconds of jitter like real sweeps."""
    return [CheckRow(target, tenant, "imported", start + i * step + timedelta(seconds=i % 7, microseconds=i * 13),
                     ch == ".", Decimal(f"{(i * 37) % 400}.{i % 100:02d}") if ch == "." else None,
                     None if ch == "." else f"boom {i}")
            for i, ch in enumerate(pattern)]


def write(ctx, rows) -> None:
    with ctx.session_factory() as s:
        insert_checks(s, rows)
        s.commit()


def compact_all(ctx) -> tuple[int, int]:
    with ctx.session_factory() as s:
        done = raw.compact(s, FAR)
        s.commit()
    return done


def ordered(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=lambda r: (r[2], r[0], r[3], str(r[4]), str(r[5])))


def snapshot(ctx) -> list[tuple]:
    with ctx.session_factory() as s:
        return ordered([tuple(r) for r in raw_checks.stored(s)])


def forms(ctx) -> tuple[int, int]:
    with ctx.session_factory() as s:
        return raw_checks.forms(s)


def test_compaction_keeps_every_check_exactly_and_merges_late_ones(ctx):
    rows = rows_for("api", "....x.xx..." * 12, tenant=None) + rows_for("web", ".........x" * 9)
    tie = rows[4].checked_at  # two checks of one target at the same instant must stay aligned
    rows.append(CheckRow("api", None, "imported", tie, True, Decimal("0.01"), None))
    write(ctx, rows)
    before = snapshot(ctx)
    assert len(before) == len(rows) and forms(ctx) == (len(rows), 0)

    checks, hour_rows = compact_all(ctx)
    assert checks == len(rows) and hour_rows == 5  # api: 132 min, web: 90 min, both from 00:00
    assert forms(ctx) == (0, 5)
    assert snapshot(ctx) == before
    assert {(r[3], r[4], r[5]) for r in before if r[2] == tie and r[0] == "api"} == {(True, Decimal("0.01"), None),
                                                                   (False, None, "boom 4")}

    late = CheckRow("web", None, "imported", T0 + timedelta(minutes=30, seconds=30), False, Decimal("7.5"), "late")
    write(ctx, [late])
    assert snapshot(ctx) == ordered([*before, ("web", None, late.checked_at, False, Decimal("7.5"), "late")])
    assert compact_all(ctx) == (61, 1)  # the 60 checks of web's first hour are folded again with the late one
    with ctx.session_factory() as s:
        arrays = s.execute(text(f"SELECT checked_at, failures FROM {raw.HOURS} h JOIN {raw.TARGETS} t "
                                "ON t.id = h.target_id WHERE t.name = 'web' AND h.hour_start = :h"), {"h": T0}).one()
    assert arrays.checked_at == sorted(arrays.checked_at) and len(arrays.checked_at) == 61
    assert arrays.failures == 6 + 1


def test_readers_answer_the_same_from_recent_rows_hour_rows_and_a_mix(ctx, oncall):
    rng = random.Random(5)
    names = [f"t{i}" for i in range(4)]
    rows = []
    chunks = ["....x", ".........xxxx", "......", "xxx.", "..xxxxx.."]
    for name in names:
        pattern = "".join(rng.choice(chunks) for _ in range(120))[:400]
        rows += rows_for(name, pattern, step=timedelta(minutes=1, seconds=rng.randint(0, 20)))
    write(ctx, rows)
    with ctx.session_factory() as s:
        s.add(MaintenanceWindow(target="t1", starts_at=T0 + timedelta(minutes=70), ends_at=T0 + timedelta(minutes=95),
                                reason="upgrade"))
        s.add(MaintenanceWindow(starts_at=T0 + timedelta(minutes=200), ends_at=T0 + timedelta(minutes=204),
                                reason="everything"))
        s.commit()
    windows = [(T0, T0 + timedelta(hours=8)), (T0 + timedelta(minutes=17), T0 + timedelta(hours=3, minutes=41)),
               (T0 + timedelta(minutes=59, seconds=30), T0 + timedelta(minutes=61)),
               (T0 + timedelta(hours=2), T0 + timedelta(hours=5))]
    settings = replace(ctx.settings, incident_threshold=3)
    run_ctx = replace(ctx, settings=settings)

    def answers():
        out = []
        with ctx.session_factory() as s:
            for a, b in windows:
                out.append([tuple(vars(r).values()) for r in detect_runs(s, a, b, 3)])
        for a, b in windows:
            out.append(report(run_ctx, oncall, a, b))
            history = views.check_history(ctx, oncall, "t2", hours=10, now=b)
            out.append(history.to_json(orient="records", date_format="iso", date_unit="us"))
        return out

    all_recent = answers()
    assert any(r["incidents"] for part in all_recent[len(windows)::2] for r in part)  # the data has incidents
    compact_all(ctx)
    assert forms(ctx)[0] == 0
    assert answers() == all_recent
    with ctx.session_factory() as s:  # thaw every other hour row: a mix of both forms
        raw.thaw(s, "extract(hour FROM h.hour_start AT TIME ZONE 'UTC')::int % 2 = 0")
        s.commit()
    assert min(forms(ctx)) > 0
    assert answers() == all_recent


def test_current_run_continues_across_compacted_hours(ctx):
    now = datetime.now(UTC)
    start = floor_hour(now) - timedelta(hours=3) + timedelta(minutes=55)
    write(ctx, rows_for("svc", "." * 60 + "xx", start=start - 60 * MIN))  # ends with two failures, 2+ h ago
    with ctx.session_factory() as s:
        raw.compact(s, floor_hour(now) - raw.COMPACT_LAG)
        s.commit()
    assert forms(ctx)[0] == 0
    fresh = CheckRow("svc", None, "imported", now, False, None, "still down")
    with ctx.session_factory() as s:
        insert_checks(s, [fresh])
        changes = incidents.apply_checks(s, [fresh], threshold=3)
        s.commit()
    assert changes.opened == 1
    with ctx.session_factory() as s:
        (first_failure,) = [r.checked_at for r in raw_checks.stored(s, ["svc"]) if not r.ok][:1]
        incident = s.execute(text("SELECT opened_at, failed_checks, last_error FROM control_plane.incidents")).one()
    assert tuple(incident) == (first_failure, 3, "still down")


def test_tenant_recent_checks_reads_both_forms(ctx, oncall, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    now = datetime.now(UTC)
    rows = [(i + 2, f"schema:{slug}", now - (200 - i) * MIN, i % 11 != 0, Decimal(i)) for i in range(200)]
    importer.import_rows(ctx, OPERATOR, rows, source="test")
    recent, hours = forms(ctx)
    assert recent > 0 and hours > 0  # the import compacted what is older than the lag
    expected = sorted((r[2] for r in rows), reverse=True)
    got = summary.tenant_recent_checks(ctx, oncall, slug, limit=100)
    assert list(got["checked_at"]) == expected[:100]
    assert len(summary.tenant_recent_checks(ctx, oncall, slug, limit=10_000)) == 200
    assert list(summary.tenant_recent_checks(ctx, oncall, slug, limit=1)["checked_at"]) == expected[:1]


def test_roll_up_job_compacts_old_hours_and_prunes_both_forms(ctx):
    now = floor_hour(datetime.now(UTC)) + timedelta(minutes=20)
    write(ctx, rows_for("job", "." * 300, start=now - 300 * MIN))
    before = snapshot(ctx)
    with ctx.session_factory() as s:
        result = roll_up(s, now, retention=timedelta(days=7))
        s.commit()
    assert "compacted" in result.summary() and result.compacted > 0
    with ctx.session_factory() as s:
        oldest_recent = s.execute(text(f"SELECT min(checked_at) FROM {raw.RECENT}")).scalar()
    assert oldest_recent >= floor_hour(now) - raw.COMPACT_LAG
    assert snapshot(ctx) == before
    with ctx.session_factory() as s:  # retention of 2 h: only checks from the cut-off hour on stay
        result = roll_up(s, now, retention=timedelta(hours=2))
        s.commit()
    cutoff = floor_hour(now - timedelta(hours=2))
    assert snapshot(ctx) == [r for r in before if r[2] >= cutoff]
    assert result.pruned == len(before) - len(snapshot(ctx))


def test_targets_are_interned_once_and_learn_their_tenant(ctx):
    for _ in range(3):
        write(ctx, [CheckRow("schema:x", None, "schema", datetime.now(UTC), True, 1.0),
                    CheckRow("db:default", None, "db", datetime.now(UTC), True, 1.0)])
    write(ctx, [CheckRow("schema:x", "x", "schema", datetime.now(UTC), True, 1.0),
                CheckRow("new", None, "imported", datetime.now(UTC), True, 1.0)])
    with ctx.session_factory() as s:
        got = s.execute(text(f"SELECT id, name, tenant_slug, kind FROM {raw.TARGETS} ORDER BY id")).all()
    # ids are not drawn for names already known, so a sweep a minute never exhausts int4
    assert [tuple(r) for r in got] == [(1, "db:default", None, "db"), (2, "schema:x", "x", "schema"),
                                       (3, "new", None, "imported")]


def test_import_rejects_latencies_beyond_storage(ctx, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("target,checked_at,ok,latency_ms\na,2025-03-01T00:00:00Z,true,21474836.48\n")
    with pytest.raises(InvalidInput, match=r"line 2: latency_ms must be between 0 and 21474836.47"):
        importer.import_file(ctx, OPERATOR, path)


def test_migration_0006_moves_old_rows_and_downgrade_puts_them_back(pg_server):
    name = f"cp_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=str(pg_server.socket_dir), port=pg_server.port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(pg_server.url(name))
    try:
        migrate.upgrade(engine, "0005")
        now = datetime.now(UTC)
        old = [("schema:a", "a", "schema", T0 + i * MIN, i % 5 != 0, None if i % 5 == 0 else Decimal(f"{i}.25"),
                "timeout" if i % 5 == 0 else None) for i in range(150)]
        old += [("http:a", "a", "http", now - i * MIN, True, Decimal("3.10"), None) for i in range(200)]
        old += [("legacy", None, "imported", T0, True, None, None), ("legacy", None, "imported", T0, False, None, "x")]
        with engine.begin() as c:
            c.execute(text("INSERT INTO control_plane.check_results (target, tenant_slug, kind, checked_at, ok, "
                           "latency_ms, error) VALUES (:t, :s, :k, :at, :ok, :l, :e)"),
                      [dict(zip(("t", "s", "k", "at", "ok", "l", "e"), r, strict=True)) for r in old])
        migrate.upgrade(engine)
        key = lambda r: (r[0], r[3], r[4])  # noqa: E731
        with engine.connect() as c:
            moved = c.execute(text(
                f"SELECT c.target, c.tenant_slug, t.kind, c.checked_at, c.ok, c.latency_ms, c.error "
                f"FROM {raw.source(raw.NO_START, raw.NO_END)} c JOIN {raw.TARGETS} t ON t.id = c.target_id")).all()
            recent, hours = (c.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in (raw.RECENT, raw.HOURS))
        assert sorted(map(tuple, moved), key=key) == sorted(old, key=key)
        assert hours >= 5 and 60 <= recent < 200  # old hours compacted, the last hour or two kept as rows

        config = migrate.alembic_config()
        with engine.begin() as c:
            config.attributes["connection"] = c
            command.downgrade(config, "0005")
        with engine.connect() as c:
            back = c.execute(text("SELECT target, tenant_slug, kind, checked_at, ok, latency_ms, error "
                                  "FROM control_plane.check_results")).all()
        assert sorted(map(tuple, back), key=key) == sorted(old, key=key)
    finally:
        engine.dispose()
        with psycopg.connect(host=str(pg_server.socket_dir), port=pg_server.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_re_rolling_rewrites_only_buckets_that_changed(ctx, admin):
    now = floor_hour(datetime.now(UTC)) + timedelta(minutes=20)
    write(ctx, rows_for("keep", "." * 240, start=now - 240 * MIN) + rows_for("mx", "." * 240, start=now - 240 * MIN))

    def hourly():
        with ctx.session_factory() as s:
            return {(r.target, r.bucket_start): (r.xmin, r.checks) for r in s.execute(text(
                "SELECT target, bucket_start, xmin::text AS xmin, checks FROM control_plane.check_rollups "
                "WHERE granularity = 'hour'"))}

    with ctx.session_factory() as s:
        roll_up(s, now, retention=timedelta(days=7))
        s.commit()
    first = hourly()
    with ctx.session_factory() as s:  # the next run re-rolls the overlap hours: same values, same row versions
        roll_up(s, now + timedelta(minutes=5), retention=timedelta(days=7))
        s.commit()
    assert hourly() == first
    hour = floor_hour(now) - timedelta(hours=2)
    maintenance.declare(ctx, admin, hour, hour + timedelta(minutes=30), "patching", target="mx")
    after = hourly()
    assert after[("mx", hour)][1] == first[("mx", hour)][1] - 30
    del after[("mx", hour)], first[("mx", hour)]
    assert after == first


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_detection_agrees_with_the_reference_model(ctx, seed):
    """The product's SQL detection (runs.py) against the plain-Python model of the definition
    (tests/incident_model.py), on random check histories, in both stored forms."""
    from tests.incident_model import Check, detect

    rng = random.Random(seed)
    histories = {f"m{seed}_{i}": "".join(rng.choice("....xxx") for _ in range(rng.randint(20, 200)))
                 for i in range(5)}
    rows = [r for name, pattern in histories.items() for r in rows_for(name, pattern)]
    write(ctx, rows)
    threshold = rng.randint(1, 4)
    expected = {}
    for name in histories:
        checks = [Check(r.checked_at, r.ok, r.error) for r in rows if r.target == name]
        expected[name] = [(e.opened_at, e.resolved_at, e.failed_checks) for e in detect(checks, threshold)]

    def found():
        with ctx.session_factory() as s:
            runs = detect_runs(s, T0, FAR, threshold)
        got = {name: [] for name in histories}
        for run in runs:
            got[run.target].append((run.opened_at, run.resolved_at, run.failed_checks))
        return got

    assert found() == expected
    compact_all(ctx)
    assert found() == expected
