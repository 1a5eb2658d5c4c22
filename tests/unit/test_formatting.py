"""The display layer (ui/formatting.py, docs/pages.md "Display conventions"): every formatter with
ties, negatives, missing values, zero and large values."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pandas as pd
import pytest

from ui.formatting import (
    MISSING,
    age,
    cents,
    column_label,
    columns,
    compact_money,
    diff,
    duration,
    fields,
    money,
    number,
    percent,
    table,
    target_label,
    utc_time,
    yes_no,
)


def test_compact_money_keeps_magnitude():
    assert compact_money(Decimal("379365.65")) == "$379.4k"
    assert compact_money(Decimal("4552387.80")) == "$4.55M"
    assert compact_money(Decimal("12500")) == "$12.5k"
    assert compact_money(Decimal("9999.99")) == "$9,999.99"
    assert compact_money(Decimal("-25000")) == "-$25.0k"
    assert compact_money(Decimal("12350")) == "$12.4k"  # a tie rounds half-up, not to even
    assert compact_money(None) == MISSING


def test_money_is_exact_and_rounds_ties_up():
    assert money(Decimal("1234567.5")) == "$1,234,567.50"
    assert money(Decimal("-0.01")) == "-$0.01"
    assert money(0) == "$0.00"
    assert money(24519.64) == "$24,519.64"  # a float is the decimal it was written as
    assert money(Decimal("0.125")) == "$0.13" and money(Decimal("-0.125")) == "-$0.13"
    assert money(None) == MISSING and money(float("nan")) == MISSING


def test_cents():
    assert cents(123456) == "$1,234.56"
    assert cents(7992) == "$79.92"
    assert cents(0) == "$0.00" and cents(-5) == "-$0.05"
    assert cents(123_456_789_012) == "$1,234,567,890.12"
    assert cents(None) == MISSING


def test_percent_rounds_half_up_like_the_uptime_figures():
    assert percent(99.0625, 3) == "99.063 %"
    assert percent(0.25) == "0.3 %" and percent(0.35) == "0.4 %"  # binary floats below the tie still tie
    assert percent(-12.25) == "-12.3 %"
    assert percent(0) == "0.0 %" and percent(12345.6, 0) == "12,346 %"
    assert percent(None) == MISSING


def test_number():
    assert number(1234567) == "1,234,567"
    assert number(2.5) == "3" and number(-2.5) == "-3" and number(0) == "0"
    assert number(1234.565, 2) == "1,234.57"
    assert number(None) == MISSING


def test_duration_in_two_units():
    assert duration(192) == "3 min 12 s"
    assert duration(180) == "3 min"
    assert duration(7500) == "2 h 5 min"
    assert duration(3 * 86400 + 4 * 3600 + 59) == "3 d 4 h"
    assert duration(4.25) == "4.3 s" and duration(4.0) == "4 s"
    assert duration(0.85) == "850 ms" and duration(0) == "0 s"
    assert duration(59.5) == "1 min"  # the tie rounds up into the next unit
    assert duration(timedelta(minutes=90)) == "1 h 30 min"
    assert duration(-192) == "-3 min 12 s"
    assert duration(None) == MISSING and duration(float("nan")) == MISSING


def test_utc_time_never_shows_an_offset():
    moment = datetime(2026, 12, 5, 8, 15, 16, 338296, tzinfo=UTC)
    assert utc_time(moment) == "2026-12-05 08:15 UTC"
    assert utc_time(moment, seconds=True) == "2026-12-05 08:15:16 UTC"
    assert utc_time(datetime(2026, 12, 5, 10, 15, tzinfo=timezone(timedelta(hours=2)))) == "2026-12-05 08:15 UTC"
    assert utc_time(datetime(2026, 12, 5, 8, 15)) == "2026-12-05 08:15 UTC"  # naive: the catalog's UTC
    assert utc_time(pd.Timestamp("2026-12-05T08:15:16.338296+00:00")) == "2026-12-05 08:15 UTC"
    assert utc_time("2026-12-05T08:15:16+00:00") == "2026-12-05 08:15 UTC"
    assert utc_time(date(2026, 12, 5)) == "2026-12-05"
    assert utc_time(None) == MISSING and utc_time(pd.NaT) == MISSING


def test_age_in_the_largest_whole_unit():
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert [age(now - d, now) for d in (timedelta(seconds=20), timedelta(minutes=12), timedelta(hours=5, minutes=59),
                                        timedelta(days=3, hours=2), timedelta(seconds=-5))] == [
        "just now", "12 min", "5 h", "3 d", "just now"]
    assert age(None, now) == MISSING


def test_yes_no():
    assert yes_no(True) == "yes" and yes_no(False) == "no" and yes_no(None) == MISSING
    assert yes_no(False, "within SLO", "over SLO") == "over SLO"


@pytest.mark.parametrize(("name", "label"), [
    ("previous_mrr", "Previous MRR"), ("error_rate_pct", "Error rate %"), ("actor_role", "Role"),
    ("p95_latency_ms", "p95 latency (ms)"), ("uptime_30d", "Uptime (30 d)"), ("mrr", "MRR"), ("id", "ID"),
    ("tenant_slug", "Tenant"), ("failed_checks", "Failed checks"), ("logo_churn_pct", "Logo churn %"),
    ("status", "Status"), ("requests", "Requests"), ("burn_rate_1h", "Burn rate (1 h)"),
])
def test_column_label(name, label):
    assert column_label(name) == label
    assert "_" not in column_label(name)


def test_columns_maps_every_name_and_keeps_overrides():
    assert columns(["actor_role", "at"], at="When (UTC)") == {"actor_role": "Role", "at": "When (UTC)"}


def test_table_formats_and_fills_gaps():
    frame = pd.DataFrame({
        "tenant_slug": ["acme", None], "mrr": [Decimal("24519.64"), None], "count": [3, 4],
        "errors": [1.0, float("nan")], "opened_at": [datetime(2026, 12, 5, 8, 15, tzinfo=UTC), None],
        "within_slo": [True, False], "error_rate_pct": [0.25, None], "took_s": [192, None],
    })
    shown = table(frame, money_cols=["mrr"], percent_cols={"error_rate_pct": 1}, duration_cols=["took_s"])
    assert list(shown.columns) == ["Tenant", "MRR", "Count", "Errors", "Opened", "Within SLO", "Error rate %",
                                   "Took (s)"]
    assert shown.iloc[0].tolist() == ["acme", "$24,519.64", 3, "1", "2026-12-05 08:15 UTC", "yes", "0.3 %",
                                      "3 min 12 s"]
    assert shown.iloc[1].tolist() == [MISSING, MISSING, 4, MISSING, MISSING, "no", MISSING, MISSING]
    assert shown["Count"].dtype.kind == "i"  # no gap: stays a sortable number
    assert "None" not in shown.astype(str).to_numpy()


def test_table_of_nothing_keeps_headers():
    assert list(table(pd.DataFrame(columns=["actor_role"])).columns) == ["Role"]


def test_diff_lists_changed_fields():
    assert diff('{"plan": "starter", "status": "active"}', '{"plan": "pro", "status": "active"}') == \
        "plan: starter → pro"
    assert diff({"status": "active"}, {"status": "suspended", "status_reason": "unpaid"}) == \
        f"status: active → suspended; status_reason: {MISSING} → unpaid"
    assert diff(None, {"disabled": True}) == f"disabled: {MISSING} → yes"
    assert diff(None, None) == MISSING and diff("{}", "{}") == MISSING
    assert diff(None, {"at": "2026-12-05T08:15:16.338296+00:00"}) == f"at: {MISSING} → 2026-12-05 08:15 UTC"
    assert diff(None, "not json") == f"value: {MISSING} → not json"


def test_target_label_names_the_tenant():
    names = {"acme": "Acme Corp"}
    assert target_label("schema:acme", names) == "Acme Corp · database"
    assert target_label("http:acme", names) == "Acme Corp · HTTP"
    assert target_label("schema:gone", names) == "gone · database"
    assert target_label("aurora:main", names) == "main · Aurora"
    assert target_label("acme", names) == "Acme Corp"
    assert target_label(None, names) == MISSING


def test_human_bytes_is_shared_by_services_and_pages():
    from control_plane.units import human_bytes
    from ui.aws_charts import human_bytes as page_bytes
    from ui.formatting import byte_scale

    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(5 * 1024**4) == "5.0 TiB" and human_bytes(3 * 1024**5) == "3,072.0 TiB"
    assert page_bytes(None) == MISSING and page_bytes(180_224) == "176.0 KiB"
    assert byte_scale(180_224) == (1024.0, "KiB") and byte_scale(500) == (1.0, "B")


def test_fields_of_a_payload():
    assert fields('{"rows": 3, "bucket": "archive", "verified": true}') == "bucket: archive; rows: 3; verified: yes"
    assert fields(None) == MISSING and fields("{}") == MISSING
