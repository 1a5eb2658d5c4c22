"""`uptime import` and `uptime report`, hand-worked: counts, incidents at the window edges,
unresolved incidents, maintenance, bad rows, re-import, and roll-ups agreeing with raw checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from control_plane.db.models import AuditEntry, CheckRollup, Incident
from control_plane.errors import InvalidInput
from control_plane.uptime import importer, maintenance
from control_plane.uptime.rollup import CHECKS_AHEAD, CHECKS_FROM, roll_up
from tests import raw_checks

T0 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def csv_file(tmp_path: Path, rows: list[tuple[str, datetime, bool, float | None]], name: str = "checks.csv") -> Path:
    lines = ["target,checked_at,ok,latency_ms"]
    for target, at, ok, latency in rows:
        lines.append(f"{target},{at.isoformat()},{'true' if ok else 'false'},{'' if latency is None else latency}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def pattern(target: str, marks: str, start: datetime = T0, latency: float = 10.0):
    """'.' ok, 'x' failed; one check a minute; latency 10, 20, 30, ... ms."""
    return [(target, start + i * MIN, ch == ".", latency * (i + 1)) for i, ch in enumerate(marks)]


def report(cli, start: datetime, end: datetime) -> dict[str, dict]:
    code, out, err = cli("uptime", "report", "--from", start.isoformat(), "--to", end.isoformat(), "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert all(set(r) == {"target", "checks", "ok", "uptime_pct", "incidents", "mttr_seconds", "p95_latency_ms"}
               for r in rows)
    return {r["target"]: r for r in rows}


def test_report_counts_incidents_mttr_and_p95(cli, tmp_path):
    path = csv_file(tmp_path, pattern("api", "..xxx..x..") + pattern("web", "xxxx.....x"))
    code, _, err = cli("uptime", "import", str(path), "--actor", "importer")
    assert code == 0, err
    assert "imported 20 checks for 2 targets" in err

    got = report(cli, T0, T0 + 10 * MIN)
    assert got["api"] == {"target": "api", "checks": 10, "ok": 6, "uptime_pct": 60.0, "incidents": 1,
                          "mttr_seconds": 180.0, "p95_latency_ms": 100.0}
    # web: a run of four from the first check, resolved at minute 4; the last failure is a run of one
    assert got["web"]["incidents"] == 1 and got["web"]["mttr_seconds"] == 240.0
    assert got["web"]["uptime_pct"] == 50.0


def test_to_is_exclusive_and_p95_is_nearest_rank(cli, tmp_path):
    rows = [("svc", T0 + i * MIN, True, float(i + 1)) for i in range(21)]  # latencies 1..21
    assert cli("uptime", "import", str(csv_file(tmp_path, rows)))[0] == 0
    got = report(cli, T0, T0 + 20 * MIN)["svc"]  # the check at exactly --to is left out
    assert got["checks"] == 20
    assert got["p95_latency_ms"] == 19.0  # ceil(0.95 * 20) = 19th smallest
    assert report(cli, T0, T0 + 21 * MIN)["svc"]["p95_latency_ms"] == 20.0  # ceil(19.95) = 20th
    assert report(cli, T0 + 30 * MIN, T0 + 40 * MIN) == {}  # no checks, no object


def test_incidents_at_the_window_edges(cli, tmp_path):
    # minute:   0 1 2 3 4 5 6 7 8 9 10 11 12 13 14
    marks = "..xxx....xxxxx."
    assert cli("uptime", "import", str(csv_file(tmp_path, pattern("edge", marks))))[0] == 0
    # A window starting inside the first run: that incident opened before it (detection sees the
    # checks before the window), so it is not counted; the run at minutes 9-13 is.
    got = report(cli, T0 + 3 * MIN, T0 + 15 * MIN)["edge"]
    assert got["incidents"] == 1 and got["mttr_seconds"] == 300.0
    # A window ending inside the second run: it opened inside the window and resolved after --to
    # (minute 14), so it counts with its whole duration, 300 s (docs/uptime.md "MTTR").
    got = report(cli, T0, T0 + 12 * MIN)["edge"]
    assert got["incidents"] == 2 and got["mttr_seconds"] == (180.0 + 300.0) / 2
    # Ending after two of its failures: detection follows the run past --to (five failures in
    # all), so the incident opens inside the window.
    got = report(cli, T0 + 5 * MIN, T0 + 11 * MIN)["edge"]
    assert got["incidents"] == 1 and got["mttr_seconds"] == 300.0
    # A window that holds none of the run's failures does not count it.
    assert report(cli, T0 + 5 * MIN, T0 + 9 * MIN)["edge"]["incidents"] == 0
    # Starting exactly at the first failure of the second run: it opens inside the window.
    assert report(cli, T0 + 9 * MIN, T0 + 15 * MIN)["edge"]["incidents"] == 1


def test_unresolved_incident_is_counted_with_null_mttr(cli, tmp_path, ctx):
    assert cli("uptime", "import", str(csv_file(tmp_path, pattern("down", "...xxxxx"))))[0] == 0
    got = report(cli, T0, T0 + 60 * MIN)["down"]
    assert got["incidents"] == 1 and got["mttr_seconds"] is None
    with ctx.session_factory() as s:  # the import recorded the incident for on-call too
        (incident,) = s.scalars(select(Incident).where(Incident.target == "down"))
        assert incident.opened_at == T0 + 3 * MIN and incident.resolved_at is None and incident.failed_checks == 5


def test_maintenance_is_left_out_of_counts_and_incidents(cli, tmp_path, ctx, admin):
    assert cli("uptime", "import", str(csv_file(tmp_path, pattern("mx", "..xxxx...."))))[0] == 0
    maintenance.declare(ctx, admin, T0 + 2 * MIN, T0 + 6 * MIN, "database upgrade", target="mx")
    got = report(cli, T0, T0 + 10 * MIN)["mx"]
    assert (got["checks"], got["ok"], got["uptime_pct"], got["incidents"]) == (6, 6, 100.0, 0)


def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_imported(cli, tmp_path, ctx):
    path = tmp_path / "bad.csv"
    path.write_text(
        "target,checked_at,ok,latency_ms\n"
        "a,2025-03-01T00:00:00Z,true,12\n"
        "a,2025-03-01T00:01:00,true,12\n"          # line 3: no zone
        "a,2025-03-01T00:02:00Z,maybe,12\n"        # line 4: bad ok
        "a,2025-03-01T00:03:00Z,true,-5\n"         # line 5: negative latency
        ",2025-03-01T00:04:00Z,true,1\n"           # line 6: no target
        "a,2025-03-01T00:00:00Z,false,3\n"         # line 7: duplicate of line 2
        "a,yesterday,true,1\n")                    # line 8
    code, out, err = cli("uptime", "import", str(path))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    for line in (3, 4, 5, 6, 7, 8):
        assert f"line {line}:" in err
    assert "line 2:" not in err and "nothing imported" in err
    with ctx.session_factory() as s:
        assert raw_checks.count(s) == 0


def test_bad_header_and_bad_window(cli, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("target,when,ok\n")
    code, _, err = cli("uptime", "import", str(path))
    assert code == 2 and "line 1" in err and "header" in err
    code, _, err = cli("uptime", "report", "--from", "2025-03-02", "--to", "2025-03-01", "--format", "json")
    assert code == 2 and "exclusive" in err
    code, _, err = cli("uptime", "report", "--from", "soon", "--to", "2025-03-01")
    assert code == 2 and "ISO-8601" in err
    # Unbounded windows would walk millions of hours: refused at once.
    for start, end in (("0001-01-01", "9999-12-31"), ("1999-12-31", "2000-02-01"), ("2020-01-01", "2024-01-02")):
        code, out, err = cli("uptime", "report", "--from", start, "--to", end, "--format", "json")
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err


def test_reimport_replaces_instead_of_duplicating_and_is_audited(cli, tmp_path, ctx):
    path = csv_file(tmp_path, pattern("re", "..x.."))
    assert cli("uptime", "import", str(path), "--actor", "ops")[0] == 0
    assert cli("uptime", "import", str(path), "--actor", "ops")[0] == 0
    assert report(cli, T0, T0 + 5 * MIN)["re"]["checks"] == 5
    with ctx.session_factory() as s:
        actions = s.execute(select(AuditEntry.actor, AuditEntry.action).where(AuditEntry.action == "uptime.import"))
        assert [tuple(a) for a in actions] == [("cli:ops", "uptime.import")] * 2


def test_rollups_and_pruning_agree_with_raw_counts(cli, tmp_path, ctx):
    # Three days of one check every 10 minutes, with one incident on day 2.
    rows = []
    for i in range(3 * 24 * 6):
        at = T0 + i * timedelta(minutes=10)
        failed = 200 <= i < 204
        rows.append(("roll", at, not failed, float(5 + i % 50)))
    assert cli("uptime", "import", str(csv_file(tmp_path, rows)))[0] == 0
    windows = [(T0, T0 + timedelta(days=3)), (T0 + timedelta(hours=5, minutes=30), T0 + timedelta(days=2, hours=7)),
               (T0 + timedelta(days=1), T0 + timedelta(days=2))]
    before = {w: report(cli, *w)["roll"] for w in windows}

    with ctx.session_factory() as s:  # roll up everything, keep raw checks
        roll_up(s, T0 + timedelta(days=3, hours=1), retention=timedelta(days=30))
        s.commit()
        assert s.scalar(select(func.count()).select_from(CheckRollup).where(CheckRollup.granularity == "day")) == 3
    for w in windows:
        after = report(cli, *w)["roll"]
        assert (after["checks"], after["ok"], after["incidents"], after["mttr_seconds"]) == (
            before[w]["checks"], before[w]["ok"], before[w]["incidents"], before[w]["mttr_seconds"])

    with ctx.session_factory() as s:  # now prune every raw check: whole hours still answer exactly
        roll_up(s, T0 + timedelta(days=3, hours=1), retention=timedelta(hours=1))
        s.commit()
        assert raw_checks.count(s, ["roll"]) == 0
    whole = report(cli, T0, T0 + timedelta(days=3))["roll"]
    assert (whole["checks"], whole["ok"], whole["incidents"]) == (432, 428, 1)
    day2 = report(cli, T0 + timedelta(days=1), T0 + timedelta(days=2))["roll"]
    assert (day2["checks"], day2["ok"], day2["incidents"]) == (144, 140, 1)


def test_checked_at_bounds_follow_the_injected_now(ctx, admin, tmp_path):
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    edge = now + CHECKS_AHEAD
    fine = csv_file(tmp_path, [("b", CHECKS_FROM, True, 1.0), ("b", edge, True, 1.0)])
    assert importer.import_file(ctx, admin, fine, now=now).rows == 2
    for late_or_early in (edge + timedelta(seconds=1), CHECKS_FROM - timedelta(seconds=1)):
        path = csv_file(tmp_path, [("c", now, True, 1.0), ("c", late_or_early, True, 1.0)], "out.csv")
        with pytest.raises(InvalidInput, match=r"line 3: checked_at .* is outside 2000-01-01 to 2025-03-02T12:00Z"):
            importer.import_file(ctx, admin, path, now=now)
    with ctx.session_factory() as s:
        assert raw_checks.count(s) == 2


def test_check_rollup_survives_unreadable_dates_already_stored(ctx):
    """Rows an older importer let in: year 0 and year 10000 in UTC, which Python cannot represent.
    The roll-up used to fail on every run (reading the earliest check); now it leaves them out
    and says how many there are."""
    now = T0 + timedelta(days=2)
    with ctx.session_factory() as s:
        target = s.execute(text("INSERT INTO control_plane.check_targets (name, kind) VALUES ('old', 'imported') "
                                "RETURNING id")).scalar_one()
        s.execute(text(
            "INSERT INTO control_plane.recent_checks (target_id, checked_at, ok, latency_cms) VALUES "
            "(:t, '0001-01-01 00:00:00+05'::timestamptz, true, 1), "
            "(:t, '9999-12-31 23:59:59-01'::timestamptz, true, 1), (:t, :good, true, 1)"), {"t": target, "good": T0})
        s.commit()
    with ctx.session_factory() as s:  # the first run (no marks yet): year 0 is past retention, so pruned
        result = roll_up(s, now, retention=timedelta(days=30))
        s.commit()
    assert (result.pruned, result.out_of_range) == (1, 1)
    assert "left out 1 raw checks dated before 2000-01-01 or more than a day ahead" in result.summary()
    for hour in range(1, 3):  # later runs: the year-10000 check stays left out
        with ctx.session_factory() as s:
            assert roll_up(s, now + timedelta(hours=hour), retention=timedelta(days=30)).out_of_range == 1
            s.commit()
    with ctx.session_factory() as s:
        assert s.scalar(select(func.sum(CheckRollup.checks)).where(CheckRollup.granularity == "day")) == 1
