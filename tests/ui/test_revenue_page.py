"""The Revenue page in AppTest: who may see it, filters, downloads, links, and agreement with
`billing mrr` to the cent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from control_plane.db.models import Plan
from control_plane.revenue import importer
from tests.factories import make_tenant
from tests.ui.readable import assert_readable
from ui.formatting import MISSING, column_label
from ui.text import plain

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/revenue.py"
HEADER = "tenant,effective_date,plan,interval,price,seats,discount_percent,status\n"


@pytest.fixture
def ledger(ctx, admin, new_slug, tmp_path) -> dict[str, str]:
    live, gone = new_slug("rev"), "ghost_gone"
    make_tenant(ctx, live, plan="team")
    rows = [
        f"{live},2024-01-10,starter,month,20,3,0,active",
        f"{live},2024-06-30,team,month,40,3,0,active",
        f"{live},2025-03-02,team,month,40,5,0,active",
        f"{gone},2024-02-01,starter,month,20,1,0,active",
        f"{gone},2025-03-15,starter,month,20,1,0,canceled",
        "annual_co,2024-03-01,business,year,1000,1,10,active",
        "annual_co,2024-09-01,business,year,1000,1,10,past_due",
        "trial_co,2025-01-01,team,month,40,2,0,trial",
        "trial_co,2025-02-01,team,month,40,2,0,active",
    ]
    path = tmp_path / "ledger.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    importer.import_file(ctx, admin, path)
    return {"live": live, "gone": gone}


def open_page(make_app, role: str):
    """Through the entry script, as a browser would: st.navigation knows every page."""
    at = make_app("streamlit_app.py", role=role).run()
    assert not at.exception, at.exception
    return at.switch_page(PAGE).run()


def frame(at, column: str, nth: int = 0):
    """The nth table on the page that has `column` (dataframes carry no key in AppTest)."""
    return [d.value for d in at.dataframe if column in d.value.columns][nth]


TABS = ["MRR & movements", "Customers & churn", "Retention & cohorts", "Plan mix", "Top movers", "Monthly table"]


def show_tab(at, label: str):
    """Tabs are lazy (only the open one renders): open one as a click would."""
    at.session_state["rev_tab"] = label
    return at.run()


def monthly_table(at):
    show_tab(at, "Monthly table")
    return frame(at, "Net revenue churn %")


def dollars(text: str) -> Decimal:
    """A cell the page shows as money ("$1,234.56", "-$60.00") back as the exact amount."""
    assert text.lstrip("-").startswith("$"), text
    return Decimal(text.replace("$", "").replace(",", ""))


def _set_range(at, start: str, end: str):
    at.select_slider(key="rev_range").set_range(start, end).run()
    return at


def test_support_is_refused(make_app):
    at = make_app(PAGE, role="support").run()
    assert not at.exception
    assert "cannot open this page" in at.error[0].value
    assert not at.get("plotly_chart")


def test_empty_ledger_has_an_explicit_empty_state(make_app):
    at = open_page(make_app, "founder")
    assert not at.exception
    assert "No subscription history yet" in at.info[0].value


def test_founder_sees_every_chart_download_and_tenant_links(make_app, ledger):
    at = open_page(make_app, "founder")
    assert not at.exception, at.exception
    _set_range(at, "2025-01", "2025-03")
    assert not at.exception and not at.error
    charts, downloads = 0, set()
    for label in TABS:
        show_tab(at, label)
        assert not at.exception and not at.error, label
        charts += len(at.get("plotly_chart"))
        downloads |= {b.proto.label for b in at.get("download_button")}
        if label == "Top movers":
            links, movers = at.get("page_link"), frame(at, "Movement")
    assert charts >= 7
    assert {"Download mrr-2025-01-2025-03 (CSV)", "Download cohorts (CSV)", "Download mrr-by-plan (CSV)",
            "Download movers-2025-03 (CSV)", "Download revenue-2025-01-2025-03 (CSV)"} <= downloads
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["MRR (2025-03)"] == "$355.00"   # 200 + 75 (annual, discounted, past_due) + 80
    assert metrics["Paying customers"] == "3"
    assert len(links) == 1  # the tenant no longer provisioned is listed without a link
    assert links[0].proto.page.endswith("tenants") or "tenants" in links[0].proto.page
    assert plain(ledger["live"]) in links[0].proto.label and "expansion" in links[0].proto.label
    assert f"tenant={ledger['live']}" in links[0].proto.query_string
    assert set(movers["Tenant"]) == {ledger["live"], ledger["gone"]}
    assert not at.get("file_uploader")  # founders read; only admins import


def test_page_and_billing_mrr_agree_to_the_cent(make_app, ledger, database_url):
    at = open_page(make_app, "founder")
    _set_range(at, "2024-01", "2025-04")
    shown = monthly_table(at)
    assert_readable(at)
    done = subprocess.run([sys.executable, "-m", "control_plane", "billing", "mrr", "--from", "2024-01", "--to",
                           "2025-04", "--format", "json"], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "DATABASE_URL": database_url}, check=False)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout, parse_float=Decimal)
    assert len(printed) == len(shown) == 16
    for cli_row, page_row in zip(printed, shown.to_dict("records"), strict=True):
        for column, value in cli_row.items():
            page_value = page_row[column_label(column)]
            if isinstance(value, Decimal):
                assert dollars(page_value) == value, (cli_row["month"], column)
            elif value is None:
                assert page_value == MISSING
            else:
                assert page_value == value


def test_plan_filter_and_range_change_the_numbers(make_app, ledger):
    at = open_page(make_app, "founder")
    _set_range(at, "2024-03", "2024-06")
    everything = monthly_table(at)
    assert list(everything["Month"]) == ["2024-03", "2024-04", "2024-05", "2024-06"]
    at.multiselect(key="rev_plans").set_value(["starter"]).run()
    assert not at.exception
    starter = monthly_table(at)
    assert list(starter["MRR"]) == ["$80.00", "$80.00", "$80.00", "$20.00"]
    # The live tenant moved starter -> team on the last day of June: churn from the starter segment.
    assert starter["Churn"].iloc[-1] == "-$60.00"
    assert list(everything["MRR"]) == ["$155.00", "$155.00", "$155.00", "$215.00"]


def test_admin_can_import_and_edit_plans_from_the_page(make_app, ctx):
    at = open_page(make_app, "admin")
    assert not at.exception
    assert at.get("file_uploader")
    at.text_input(key="plan_code").input("team")
    at.text_input(key="plan_price").input("45.50")
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    assert any("Saved plan team" in s.value for s in at.success)
    with ctx.session_factory() as session:
        assert session.get(Plan, "team").list_price == Decimal("45.50")


def test_page_file_is_thin():
    source = (ROOT / PAGE).read_text()
    for forbidden in ("sqlalchemy", "psycopg", "boto3", "SELECT "):
        assert forbidden not in source


MTD_ROWS = [  # "today" is 2026-12-05 (app_today)
    "acme,2025-06-01,team,month,100,1,0,active",
    "bolt,2026-11-03,starter,month,50,1,0,active",
    "dan,2026-11-20,team,month,20,1,0,active",
    "cleo,2026-12-02,team,month,30,1,0,active",
]


def test_running_month_is_month_to_date_with_mom_yoy_and_plan_filter(make_app, ctx, admin, tmp_path, app_today):
    path = tmp_path / "mtd.csv"
    path.write_text(HEADER + "\n".join(MTD_ROWS) + "\n")
    importer.import_file(ctx, admin, path)
    at = open_page(make_app, "founder")
    assert not at.exception and not at.error
    assert at.select_slider(key="rev_range").value[1] == "2026-12"
    assert any("December 2026, month-to-date" in m.value and "Dec 1–5 vs Nov 1–5" in m.value for m in at.markdown)
    tiles = {m.label: m for m in at.metric}
    assert tiles["MRR, month-to-date (Dec 1–5)"].value == "$200.00"
    assert tiles["MRR, month-to-date (Dec 1–5)"].delta == "+$50.00 (+33.3 %) vs Nov 1–5"
    assert tiles["Net new MRR, month-to-date (Dec 1–5)"].delta == "-$20.00 vs Nov 1–5"
    assert "YoY +3 vs Dec 1–5, 2025" in [c.value for c in at.caption]
    show_tab(at, "Top movers")
    assert "Biggest movements in 2026-12 (month-to-date, Dec 1–5)" in [h.value for h in at.subheader]
    assert any("month-to-date" in c.value for c in at.caption)

    at.multiselect(key="rev_plans").set_value(["starter"]).run()  # computed on the server, per plan
    assert not at.exception
    tiles = {m.label: m for m in at.metric}
    assert tiles["MRR, month-to-date (Dec 1–5)"].value == "$50.00"
    assert tiles["Paying customers"].value == "1" and tiles["Paying customers"].delta == "+0 vs Nov 1–5"
    assert any("Plans: starter" in m.value for m in at.markdown)

    _set_range(at, "2026-01", "2026-11")  # a closed month: whole months compared
    tiles = {m.label: m for m in at.metric}
    assert tiles["MRR (2026-11)"].value == "$50.00" and tiles["MRR (2026-11)"].delta == "+$50.00 vs Oct 2026"
