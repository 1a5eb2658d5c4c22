"""The Uptime screen's figures through the CLI (`uptime slo`, `uptime sla-report`, `uptime alerts
--evaluate`) on histories built to land on exact ties, as docs/uptime.md defines them: SLO met on
the exact uptime, a burn rate that reaches its factor fires, a tenant's p95 pooled over its
targets, half-up rounding on the exact decimal. Each expected figure is worked by hand below."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from control_plane.db.models import AuditEntry, MaintenanceWindow
from tests.factories import make_tenant

AT = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)  # "now" for every command here
MIN = timedelta(minutes=1)


def import_checks(cli, tmp_path: Path, rows: list[tuple[str, datetime, bool, str]], name: str = "checks.csv") -> None:
    path = tmp_path / name
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["target", "checked_at", "ok", "latency_ms"])
        for target, at, ok, latency in rows:
            writer.writerow([target, at.isoformat(), "true" if ok else "false", latency])
    code, _, err = cli("uptime", "import", str(path))
    assert code == 0, err


def every(target: str, count: int, end: datetime, step: timedelta, failed: set[int] = frozenset(),
          latency: str = "10") -> list[tuple[str, datetime, bool, str]]:
    """`count` checks spaced by `step`, the last one a step before `end`; indexes in `failed` fail."""
    start = end - count * step
    return [(target, start + i * step, i not in failed, latency) for i in range(count)]


def run_json(cli, *argv: str):
    code, out, err = cli(*argv, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def slo_rows(cli) -> dict[str, dict]:
    return {r["name"]: r for r in run_json(cli, "uptime", "slo", "--at", AT.isoformat())}


def test_slo_met_is_decided_on_the_exact_uptime(cli, tmp_path):
    # edge-exact: 1 of 1000 failed, uptime exactly 99.9: met, budget exactly spent.
    # edge-under: 3 of 2999 failed, 99.89996... %: shown as 99.900 but missed (the old table said met).
    import_checks(cli, tmp_path, every("edge-exact", 1000, AT, MIN, {500})
                  + every("edge-under", 2999, AT, MIN, {100, 1100, 2100}))
    rows = slo_rows(cli)
    assert rows["edge-exact"]["uptime_30d"] == 99.9 and rows["edge-exact"]["slo_met"] is True
    assert rows["edge-exact"]["budget_left_pct"] == 0.0
    assert rows["edge-under"]["uptime_30d"] == 99.9
    assert rows["edge-under"]["slo_met"] is False  # 100 × 2996 ÷ 2999 < 99.9
    assert rows["edge-under"]["budget_left_pct"] == 0.0  # −0.0333… rounds to 0.0
    assert rows["edge-under"]["checks_30d"] == 2999


def test_half_up_ties_in_the_slo_table(cli, tmp_path):
    # 8000 checks in the last hour, one failed: burn (1/8000)/0.001 = 0.125 → 0.13 (round() gives
    # 0.12); uptime 7999/8000 = 99.9875 % → 99.988 (round() gives 99.987); budget 87.5 % exactly.
    import_checks(cli, tmp_path, every("burn-tie", 8000, AT, timedelta(seconds=0.45), {4000}))
    row = slo_rows(cli)["burn-tie"]
    assert row["burn_rate_1h"] == 0.13
    assert row["uptime_24h"] == row["uptime_7d"] == row["uptime_30d"] == 99.988
    assert row["budget_left_pct"] == 87.5 and row["slo_met"] is True


def test_a_tenants_p95_is_the_nearest_rank_of_its_pooled_latencies(cli, ctx, tmp_path, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)  # imported checks join a tenant the catalog knows
    # schema:<slug> latencies 1..20 ms, http:<slug> 400.95..419.95 ms. Pooled (40 values) the p95
    # is the 38th smallest: the 18th of the http ones, 417.95. The worst target's own p95 (its 19th
    # of 20) is 418.95, which the table used to show.
    rows = [(f"schema:{slug}", AT - (i + 1) * MIN, True, str(i + 1)) for i in range(20)]
    rows += [(f"http:{slug}", AT - (i + 1) * MIN, True, f"{400.95 + i:.2f}") for i in range(20)]
    import_checks(cli, tmp_path, rows)
    row = slo_rows(cli)[slug]
    assert row["scope"] == "tenant" and row["checks_30d"] == 40
    assert row["p95_latency_24h_ms"] == 417.95
    assert row["uptime_30d"] == 100.0 and row["burn_rate_1h"] == 0.0


def test_a_burn_rate_that_reaches_its_factor_exactly_fires(cli, tmp_path):
    # burn-slow: one check a minute for 4000 minutes; failures 3000, 2000, 1000 and 120 minutes ago.
    # 3 days: 4 of 4000 → (4/4000)/(1−0.999) = 1 exactly (0.9999999999999991 in floats); 6 h: 1 of
    # 360 → 2.78. The 1 h and 30 min windows have no failure, so only the 3d/6h pair fires.
    slow_failed = {4000 - 3000, 4000 - 2000, 4000 - 1000, 4000 - 120}
    rows = every("burn-slow", 4000, AT, MIN, slow_failed)
    # burn-under: the same with one more (ok) check before: 4 of 4001 stays under the factor.
    rows += every("burn-under", 4001, AT, MIN, {i + 1 for i in slow_failed})
    # burn-fast: 1875 checks over [−60 min, −5 min) with 27 failures, then 625 over the last 5 min
    # with 9: 1 h 36/2500 and 5 min 9/625, both a burn of 14.4 exactly (14.399999999999986 in
    # floats, so the old code paged on the 6h/30m pair instead). No two failures in a row.
    early = every("burn-fast", 1875, AT - 5 * MIN, timedelta(seconds=55 * 60 / 1875), {i * 69 for i in range(27)})
    late = every("burn-fast", 625, AT, timedelta(seconds=0.48), {i * 69 for i in range(9)})
    import_checks(cli, tmp_path, rows + early + late)

    got = run_json(cli, "uptime", "alerts", "--evaluate", "--at", AT.isoformat())
    assert got == [
        {"at": AT.isoformat(), "target": "burn-fast", "tenant": None, "window": "1h/5m", "factor": 14.4,
         "severity": "critical", "long_checks": 2500, "long_failed": 36, "long_burn_rate": 14.4,
         "short_checks": 625, "short_failed": 9, "short_burn_rate": 14.4, "open_incident": False, "alert": True},
        {"at": AT.isoformat(), "target": "burn-slow", "tenant": None, "window": "3d/6h", "factor": 1.0,
         "severity": "warning", "long_checks": 4000, "long_failed": 4, "long_burn_rate": 1.0,
         "short_checks": 360, "short_failed": 1, "short_burn_rate": 2.78, "open_incident": False, "alert": True},
    ]
    # Three hours earlier burn-slow's 3-day window holds 3 failures in 3820 checks: under 1.
    earlier = run_json(cli, "uptime", "alerts", "--evaluate", "--at", (AT - 3 * 60 * MIN).isoformat())
    assert "burn-slow" not in {a["target"] for a in earlier}
    assert run_json(cli, "uptime", "alerts") == []  # --evaluate stores nothing


def test_sla_report_rounds_half_up_on_the_exact_value(cli, tmp_path, new_slug):
    slug = new_slug()
    target = f"schema:{slug}"
    # March: 1600 checks, 15 failed (99.0625 % → 99.063; round() gives 99.062). Three of the
    # failures in a row open an incident that resolves 30,177 s (502.95 min → 503.0; round() gives
    # 502.9) after its first failure; the other twelve are single failures.
    base = datetime(2025, 3, 2, tzinfo=UTC)
    rows, at = [], base
    singles = {50 * k for k in range(1, 13)}
    for i in range(1600):
        if i == 700:
            at = rows[697][1] + timedelta(seconds=30177)  # the first check after the run is ok
        rows.append((target, at, i not in singles and i not in (697, 698, 699), "12.5"))
        at += MIN
    # February: 1000 checks, one failed: exactly 99.9, met.
    rows += every(target, 1000, datetime(2025, 2, 20, tzinfo=UTC), MIN, {10})
    import_checks(cli, tmp_path, rows)

    argv = ("uptime", "sla-report", "--tenant", slug, "--months", "2", "--at", "2025-03-31T12:00:00Z")
    got = run_json(cli, *argv)
    assert got == [
        {"tenant": slug, "month": "2025-02", "checks": 1000, "uptime_pct": 99.9, "slo_met": True, "incidents": 0,
         "downtime_minutes": 0.0, "mttr_minutes": None},
        {"tenant": slug, "month": "2025-03", "checks": 1600, "uptime_pct": 99.063, "slo_met": False,
         "incidents": 1, "downtime_minutes": 503.0, "mttr_minutes": 503.0},
    ]
    everyone = run_json(cli, "uptime", "sla-report", "--months", "2", "--at", "2025-03-31T12:00:00Z")
    assert [r for r in everyone if r["tenant"] == slug] == got
    code, out, err = cli(*argv, "--format", "csv")
    assert code == 0, err
    assert out.splitlines() == [
        "tenant,month,checks,uptime_pct,slo_met,incidents,downtime_minutes,mttr_minutes",
        f"{slug},2025-02,1000,99.9,True,0,0.0,",
        f"{slug},2025-03,1600,99.063,False,1,503.0,503.0",
    ]


def test_maintenance_add_list_delete_change_the_figures_and_are_audited(cli, tmp_path, ctx):
    import_checks(cli, tmp_path, every("api", 100, AT, MIN, {10, 20, 30, 40}))
    assert slo_rows(cli)["api"]["uptime_30d"] == 96.0
    # The failures lie at AT − 90, −80, −70, −60 minutes: a window over [−95 min, −55 min) leaves
    # 60 checks, all ok.
    added = run_json(cli, "uptime", "maintenance", "add", "--target", "api", "--start",
                     (AT - 95 * MIN).isoformat(), "--end", (AT - 55 * MIN).isoformat(), "--reason", "db upgrade",
                     "--actor", "alice")
    assert added["scope"] == "api" and added["reason"] == "db upgrade" and added["created_by"] == "cli:alice"
    row = slo_rows(cli)["api"]
    assert row["uptime_30d"] == 100.0 and row["checks_30d"] == 60
    listed = run_json(cli, "uptime", "maintenance", "list", "--at", AT.isoformat())
    assert [w["id"] for w in listed] == [added["id"]]
    code, _, err = cli("uptime", "maintenance", "delete", str(added["id"]))
    assert code == 0, err
    assert slo_rows(cli)["api"]["uptime_30d"] == 96.0
    with ctx.session_factory() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("maintenance.%"))
                                  .order_by(AuditEntry.id)).all()
        assert actions == ["maintenance.declare", "maintenance.delete"]
        assert session.scalar(select(MaintenanceWindow.id)) is None


def test_bad_input_fails_in_one_line(cli):
    for argv in (("uptime", "slo", "--at", "yesterday"),
                 ("uptime", "slo", "--at", "1970-01-01"),
                 ("uptime", "sla-report", "--months", "0"),
                 ("uptime", "sla-report", "--tenant", "Not A Slug"),
                 ("uptime", "alerts", "--at", "2025-01-01"),
                 ("uptime", "alerts", "--evaluate", "--at", "2025-13-01"),
                 ("uptime", "maintenance", "add", "--everything", "--start", "2025-01-02", "--end", "2025-01-01",
                  "--reason", "x"),
                 ("uptime", "maintenance", "add", "--everything", "--start", "soon", "--hours", "1", "--reason", "x"),
                 ("uptime", "maintenance", "add", "--everything", "--start", "2025-01-01", "--hours", "nan",
                  "--reason", "x"),
                 ("uptime", "maintenance", "delete", "424242")):
        code, out, err = cli(*argv)
        assert code != 0, argv
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), (argv, err)
        assert "Traceback" not in err and out == ""
