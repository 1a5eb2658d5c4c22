"""`--format csv` of the CLI is formula-safe (docs/security.md "Untrusted input"): typed text that a
spreadsheet would run comes out behind a `'`; the MRR table's negative amounts stay numbers."""

from __future__ import annotations

import csv
import io

from control_plane.services import tenants
from tests.factories import make_tenant

LINK = '=HYPERLINK("http://127.0.0.1:9/x","click")'


def test_tenants_list_and_show_csv(cli, ctx, new_slug, admin):
    slug = new_slug("clicsv")
    make_tenant(ctx, slug, name=LINK)
    tenants.suspend(ctx, admin, slug, "-2+3")
    for argv in (("tenants", "list", "--format", "csv"), ("tenants", "show", slug, "--format", "csv")):
        code, out, err = cli(*argv)
        assert code == 0, err
        [row] = [r for r in csv.DictReader(io.StringIO(out)) if r["slug"] == slug]
        assert row["name"] == "'" + LINK, argv
        assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())


def test_billing_mrr_csv_keeps_negative_amounts_numeric(cli, tmp_path):
    ledger = tmp_path / "ledger.csv"
    ledger.write_text("tenant,effective_date,plan,interval,price,seats,discount_percent,status\n"
                      f'"{LINK.replace(chr(34), chr(34) * 2)}",2025-01-10,team,month,200,1,0,active\n'
                      f'"{LINK.replace(chr(34), chr(34) * 2)}",2025-02-10,team,month,80,1,0,active\n'
                      "@SUM(1+1),2025-01-10,team,month,50,1,0,active\n"
                      "@SUM(1+1),2025-02-10,team,month,50,1,0,canceled\n")
    code, _, err = cli("billing", "import", str(ledger))
    assert code == 0, err
    code, out, err = cli("billing", "mrr", "--from", "2025-02", "--to", "2025-02", "--format", "csv")
    assert code == 0, err
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row == {"month": "2025-02", "mrr": "80.00", "new": "0.00", "expansion": "0.00",
                   "contraction": "-120.00", "churn": "-50.00", "reactivation": "0.00", "net_new": "-170.00",
                   "customers": "1", "arpa": "80.00"}
