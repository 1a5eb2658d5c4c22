"""`billing import|mrr|plans` through the CLI: formats, exit codes, one-line errors, audit actor."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from control_plane.db.models import AuditEntry, Plan

ROOT = Path(__file__).resolve().parents[2]
HEADER = "tenant,effective_date,plan,interval,price,seats,discount_percent,status\n"
LEDGER = HEADER + (
    "b,2024-12-10,team,month,100,1,0,active\n"
    "a,2025-01-31,team,month,10.005,1,0,active\n"     # 10.01 (half up), on the month's last day
    "a,2025-02-01,team,year,240,1,50,active\n"        # 10.00: contraction of 0.01
    "b,2025-02-15,team,month,100,1,0,canceled\n"
    "c,2025-03-01,team,month,30,2,0,trial\n"
    "c,2025-04-01,team,month,30,2,0,past_due\n"
    "b,2025-04-20,team,month,100,2,0,active\n"
)
COLUMNS = ["month", "mrr", "new", "expansion", "contraction", "churn", "reactivation", "net_new", "customers", "arpa"]


@pytest.fixture
def imported(cli, tmp_path) -> Path:
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER)
    code, out, err = cli("billing", "import", str(path), "--format", "json", "--actor", "carol")
    assert code == 0, err
    assert json.loads(out)["rows"] == 7
    return path


def test_mrr_json_is_the_contract(cli, imported):
    code, out, err = cli("billing", "mrr", "--from", "2024-12", "--to", "2025-05", "--format", "json")
    assert code == 0, err
    assert '"mrr": 100.00' in out  # two decimals in the JSON text itself
    rows = json.loads(out, parse_float=Decimal)
    assert [r["month"] for r in rows] == ["2024-12", "2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]
    assert all(list(r) == COLUMNS for r in rows)
    by = {r["month"]: r for r in rows}
    assert by["2025-01"]["mrr"] == Decimal("110.01") and by["2025-01"]["new"] == Decimal("10.01")
    feb = by["2025-02"]
    assert (feb["mrr"], feb["contraction"], feb["churn"], feb["net_new"], feb["customers"], feb["arpa"]) == \
        (Decimal("10.00"), Decimal("-0.01"), Decimal("-100.00"), Decimal("-100.01"), 1, Decimal("10.00"))
    assert by["2025-03"]["net_new"] == 0
    apr = by["2025-04"]
    assert (apr["new"], apr["reactivation"], apr["mrr"], apr["customers"], apr["arpa"]) == \
        (Decimal("60.00"), Decimal("200.00"), Decimal("270.00"), 3, Decimal("90.00"))
    previous = Decimal("0.00")
    for row in rows:
        assert row["net_new"] == sum(row[k] for k in ("new", "expansion", "contraction", "churn", "reactivation"))
        assert row["mrr"] == previous + row["net_new"]
        previous = row["mrr"]


def test_mrr_csv_limits_rows_not_history(cli, imported):
    code, out, _ = cli("billing", "mrr", "--from", "2025-04", "--to", "2025-04", "--format", "csv")
    assert code == 0
    assert out.splitlines()[0] == ",".join(COLUMNS)
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row == {"month": "2025-04", "mrr": "270.00", "new": "60.00", "expansion": "0.00", "contraction": "0.00",
                   "churn": "0.00", "reactivation": "200.00", "net_new": "260.00", "customers": "3", "arpa": "90.00"}


def test_mrr_defaults_run_to_this_month(cli, imported):
    code, out, _ = cli("billing", "mrr", "--format", "json")
    assert code == 0
    rows = json.loads(out, parse_float=Decimal)
    assert rows[0]["month"] == "2024-12" and rows[-1]["month"] == datetime.now(UTC).strftime("%Y-%m")


@pytest.mark.parametrize(("argv", "code", "fragment"), [
    (("billing", "mrr", "--from", "2025-13", "--format", "json"), 2, "--from must be a month like 2025-03"),
    (("billing", "mrr", "--from", "2025-05", "--to", "2025-01"), 2, "--from 2025-05 is after --to 2025-01"),
    (("billing", "mrr", "--format", "xml"), 2, "invalid choice"),
    (("billing", "import", "/nonexistent/x.csv"), 2, "Cannot read /nonexistent/x.csv"),
    (("billing", "plans", "set", "pro"), 2, "give it a name and a list price"),
    (("billing", "plans", "set", "team", "--price", "12.345"), 2, "more than 2 decimals"),
])
def test_errors_are_one_line_with_exit_codes(cli, argv, code, fragment):
    got, _, err = cli(*argv)
    assert got == code
    assert fragment in err and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_bad_import_file_one_line_and_nothing_imported(cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "a,2025-01-01,team,month,1,1,0,active\na,2025-02-30,team,month,1,1,0,active\n")
    code, _, err = cli("billing", "import", str(path))
    assert code == 2 and err.count("\n") == 1 and "line 3: effective_date '2025-02-30'" in err
    code, out, _ = cli("billing", "mrr", "--format", "json")
    assert json.loads(out) == []


def test_plans_set_and_list_audited(cli, ctx):
    code, out, err = cli("billing", "plans", "set", "scale", "--name", "Scale", "--price", "499", "--interval",
                         "month", "--format", "json", "--actor", "dana")
    assert code == 0, err
    assert json.loads(out)["list_price"] == "499.00"
    code, out, _ = cli("billing", "plans", "set", "scale", "--inactive", "--format", "json")
    assert json.loads(out)["active"] is False
    code, out, _ = cli("billing", "plans", "list", "--format", "json")
    assert {"free", "starter", "team", "business", "enterprise", "scale"} <= {p["code"] for p in json.loads(out)}
    with ctx.session_factory() as session:
        assert session.get(Plan, "scale").list_price == Decimal("499.00")
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "cli:dana")).all()
    assert actions == ["plan.create"]


def test_subprocess_round_trip(database_url, ctx, tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER)
    env = {**os.environ, "DATABASE_URL": database_url}
    run = lambda *a: subprocess.run([sys.executable, "-m", "control_plane", *a], capture_output=True,  # noqa: E731
                                    text=True, env=env, cwd=ROOT, timeout=120, check=False)
    done = run("billing", "import", str(path))
    assert done.returncode == 0, done.stderr
    done = run("billing", "mrr", "--from", "2025-04", "--to", "2025-04", "--format", "csv")
    assert done.returncode == 0 and done.stdout.splitlines()[1].startswith("2025-04,270.00,60.00,")
    done = run("billing", "mrr", "--to", "nope")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_from_before_history_prints_zero_rows_and_plans_need_plans_manage(cli, imported, ctx, founder):
    code, out, _ = cli("billing", "mrr", "--from", "2024-10", "--to", "2024-12", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["month"] for r in rows] == ["2024-10", "2024-11", "2024-12"]
    assert rows[0]["mrr"] == "0.00" and rows[0]["customers"] == "0" and rows[2]["new"] == "100.00"

    from control_plane.errors import Forbidden
    from control_plane.revenue import plans

    with pytest.raises(Forbidden):
        plans.save_plan(ctx, founder, "team", list_price="1.00")
    assert {p.code for p in plans.list_plans(ctx, founder)} >= {"team"}
