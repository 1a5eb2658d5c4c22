"""`billing import`: validation with line numbers, all-or-nothing, re-import replaces, audit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from control_plane.db.models import AuditEntry, SubscriptionChange
from control_plane.errors import Forbidden, InvalidInput
from control_plane.revenue import importer, reports

HEADER = "tenant,effective_date,plan,interval,price,seats,discount_percent,status\n"
GOOD = HEADER + (
    "acme,2025-01-15,team,month,49.00,3,0,active\n"
    "acme,2025-03-31,business,year,1200,3,10,active\n"
    "ghost_co,2025-02-01,starter,month,19,1,0,trial\n"
    "ghost_co,2025-03-01,starter,month,19,1,0,past_due\n"
)


def write(tmp_path: Path, text: str, name: str = "changes.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def ledger_rows(ctx) -> list[tuple]:
    with ctx.session_factory() as session:
        rows = session.execute(select(SubscriptionChange.tenant, SubscriptionChange.effective_date,
                                      SubscriptionChange.price, SubscriptionChange.mrr_cents)
                               .order_by(SubscriptionChange.tenant, SubscriptionChange.effective_date)).all()
    return [tuple(r) for r in rows]


def test_import_then_mrr_table(ctx, admin, founder, tmp_path):
    result = importer.import_file(ctx, admin, write(tmp_path, GOOD))
    assert (result.rows, result.inserted, result.replaced, result.tenants) == (4, 4, 0, 2)
    rows = {r["month"]: r for r in reports.mrr_table(ctx, founder, "2025-01", "2025-04")}
    assert rows["2025-01"]["mrr"] == Decimal("147.00") and rows["2025-01"]["new"] == Decimal("147.00")
    assert rows["2025-02"]["mrr"] == Decimal("147.00")                 # ghost_co on trial: 0
    # March: acme 3 seats × 1200/yr × 0.9 / 12 = 270.00 (expansion 123.00); ghost_co past_due 19.00 (new)
    assert (rows["2025-03"]["mrr"], rows["2025-03"]["expansion"], rows["2025-03"]["new"]) == \
        (Decimal("289.00"), Decimal("123.00"), Decimal("19.00"))
    assert rows["2025-03"]["customers"] == 2 and rows["2025-03"]["arpa"] == Decimal("144.50")
    with ctx.session_factory() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "billing.import")).one()
    assert entry.actor == admin.name and entry.detail["rows"] == 4 and entry.target.endswith("changes.csv")


def test_reimport_replaces_and_never_duplicates(ctx, admin, tmp_path):
    importer.import_file(ctx, admin, write(tmp_path, GOOD))
    first = ledger_rows(ctx)
    again = importer.import_file(ctx, admin, write(tmp_path, GOOD))
    assert (again.inserted, again.replaced) == (0, 4)
    assert ledger_rows(ctx) == first
    changed = importer.import_file(ctx, admin, write(tmp_path, HEADER + "acme,2025-01-15,team,month,59.00,3,0,active\n"
                                                     "acme,2025-05-01,team,month,59.00,4,0,active\n", "more.csv"))
    assert (changed.inserted, changed.replaced) == (1, 1)
    rows = ledger_rows(ctx)
    assert len(rows) == 5
    assert ("acme", date(2025, 1, 15), Decimal("59.000000"), 17700) in rows


def test_a_bad_file_reports_every_bad_line_and_imports_nothing(ctx, admin, tmp_path):
    importer.import_file(ctx, admin, write(tmp_path, GOOD))
    before = ledger_rows(ctx)
    bad = HEADER + (
        "zeta,2025-01-01,team,month,10,1,0,active\n"        # line 2: fine, but must not be imported
        "zeta,2025-13-01,team,month,10,1,0,active\n"        # line 3: bad date
        "zeta,2025-02-01,team,weekly,abc,-1,120,frozen\n"   # line 4: five problems
        "\n"                                                # line 5: blank, ignored
        ",2025-03-01,team,month,10,1,0,active\n"            # line 6: no tenant
        "zeta,2025-01-01,team,month,12,1,0,active\n"        # line 7: duplicate of line 2
        "zeta,2025-04-01,team,month,10,1\n"                 # line 8: short row
        "zeta,2025-05-01,team,month,10.1234567,1,0,active\n"  # line 9: too many decimals
    )
    with pytest.raises(importer.ImportRejected) as caught:
        importer.import_file(ctx, admin, write(tmp_path, bad, "bad.csv"))
    problems = dict(caught.value.problems)
    assert sorted(problems) == [3, 4, 6, 7, 8, 9]
    assert "effective_date '2025-13-01'" in problems[3]
    for fragment in ("interval 'weekly'", "price 'abc'", "seats '-1'", "discount_percent 120", "status 'frozen'"):
        assert fragment in problems[4]
    assert "line 2" in problems[7] and "expected 8 fields" in problems[8] and "decimals" in problems[9]
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{tmp_path / 'bad.csv'}: 6 bad rows, nothing imported")
    assert ledger_rows(ctx) == before


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "the file is empty"),
    (HEADER, "no rows"),
    ("tenant,effective_date,plan,price,seats,status\nacme,2025-01-01,team,1,1,active\n",
     "missing column(s) interval, discount_percent"),
])
def test_header_problems(ctx, admin, tmp_path, text, fragment):
    with pytest.raises(InvalidInput, match=None) as caught:
        importer.import_file(ctx, admin, write(tmp_path, text))
    assert fragment in str(caught.value)


def test_missing_file_and_forbidden_role(ctx, admin, support, tmp_path):
    with pytest.raises(InvalidInput, match="Cannot read"):
        importer.import_file(ctx, admin, tmp_path / "nope.csv")
    with pytest.raises(Forbidden):
        importer.import_file(ctx, support, write(tmp_path, GOOD))
    assert ledger_rows(ctx) == []


def test_header_order_case_extra_columns_and_unknown_plans(ctx, admin, tmp_path):
    text = ("\ufeffStatus,Tenant,Effective_Date,Plan,Interval,Price,Seats,Discount_Percent,note\n"
            "ACTIVE,old_customer,2023-06-30,legacy_pro,YEAR,600,2,,from the old system\n")
    result = importer.import_file(ctx, admin, write(tmp_path, text))
    assert result.unknown_plans == ("legacy_pro",)
    assert ledger_rows(ctx) == [("old_customer", date(2023, 6, 30), Decimal("600.000000"),
                                 10000)]


def test_bulk_import_of_many_rows_in_one_statement(ctx, admin, tmp_path):
    lines = [HEADER] + [f"bulk{i % 500},2024-{(i // 500) % 12 + 1:02d}-01,team,month,{i % 90}.99,1,0,active\n"
                        for i in range(6000)]
    result = importer.import_file(ctx, admin, write(tmp_path, "".join(lines)))
    assert result.inserted == 6000
    with ctx.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SubscriptionChange)) == 6000


def test_bounds_are_what_the_ledger_columns_hold(ctx, admin, tmp_path):
    """price numeric(18,6), seats int4, mrr_cents bigint: the largest accepted values store
    exactly; one step past each is refused with its line number instead of a database error."""
    fine = HEADER + ("max_price,2025-01-01,team,month,999999999999.999999,1,0,active\n"
                     "max_seats,2025-01-01,team,month,1,2147483647,0,active\n"
                     "big_both,2025-01-01,team,year,429496.7295,2147483647,0,active\n"
                     "first_day,2000-01-01,team,month,1,1,0,trial\n"
                     "last_day,2099-12-31,team,month,1,1,0,trial\n")
    assert importer.import_file(ctx, admin, write(tmp_path, fine)).inserted == 5
    rows = {r[0]: r for r in ledger_rows(ctx)}
    assert rows["max_price"][2] == Decimal("999999999999.999999")
    assert rows["max_seats"][3] == 2147483647 * 100
    bad = HEADER + ("ok_row,2025-01-01,team,month,1,1,0,active\n"
                    "p,2025-01-01,team,month,1e12,1,0,active\n"                   # line 3
                    "s,2025-01-01,team,month,1,2147483648,0,active\n"             # line 4
                    "m,2025-01-01,team,month,999999999999,2147483647,0,active\n"  # line 5
                    "d,1999-12-31,team,month,1,1,0,active\n")                     # line 6
    with pytest.raises(importer.ImportRejected) as caught:
        importer.import_file(ctx, admin, write(tmp_path, bad, "bad.csv"))
    problems = dict(caught.value.problems)
    assert sorted(problems) == [3, 4, 5, 6]
    assert "price 1e12 is outside 0–999999999999.999999" in problems[3]
    assert "seats '2147483648' is not a whole number from 0 to 2147483647" in problems[4]
    assert "price × seats is too large" in problems[5]
    assert "outside 2000-01-01 to 2099-12-31" in problems[6]
    assert len(ledger_rows(ctx)) == 5


def test_an_upload_staged_in_a_file_is_named_by_its_upload_name(ctx, admin, tmp_path):
    """The app stages an upload in a temporary file and imports it like the CLI
    (ui/revenue_admin.py); messages and the audit entry name the upload, not the temporary file."""
    staged = write(tmp_path, GOOD + "acme,2025-01-15,team,month,49.00,3,0,active\n", "upload-1234.csv")
    with pytest.raises(importer.ImportRejected) as rejected:
        importer.import_file(ctx, admin, staged, source="billing.csv")
    assert str(rejected.value).startswith("billing.csv: 1 bad row, nothing imported: line 6: tenant acme already "
                                          "has a row for 2025-01-15 on line 2")
    result = importer.import_file(ctx, admin, write(tmp_path, GOOD, "upload-5678.csv"), source="billing.csv")
    assert result.source == "billing.csv" and result.rows == 4
    with ctx.session_factory() as session:
        target = session.scalar(select(AuditEntry.target).where(AuditEntry.action == "billing.import")
                                .order_by(AuditEntry.id.desc()).limit(1))
    assert target == "billing.csv"
