from decimal import Decimal

from ui.formatting import compact_money, money


def test_compact_money_keeps_magnitude():
    assert compact_money(Decimal("379365.65")) == "$379.4k"
    assert compact_money(Decimal("4552387.80")) == "$4.55M"
    assert compact_money(Decimal("12500")) == "$12.5k"
    assert compact_money(Decimal("9999.99")) == "$9,999.99"
    assert compact_money(Decimal("-25000")) == "-$25.0k"
    assert compact_money(None) == "–"


def test_money_is_exact():
    assert money(Decimal("1234567.5")) == "$1,234,567.50"
    assert money(Decimal("-0.01")) == "-$0.01"


def test_byte_scale_picks_a_readable_unit():
    from ui.formatting import byte_scale

    assert byte_scale(180_224) == (1024.0, "KiB")
    assert byte_scale(5 * 1024**3) == (1024.0**3, "GiB")
    assert byte_scale(500) == (1.0, "B")


def test_human_bytes_is_shared_by_services_and_pages():
    from control_plane.units import human_bytes
    from ui.aws_charts import human_bytes as page_bytes

    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(5 * 1024**4) == "5.0 TiB" and human_bytes(3 * 1024**5) == "3,072.0 TiB"
    assert page_bytes(None) == "–" and page_bytes(180_224) == "176.0 KiB"


def test_age_in_the_largest_whole_unit():
    from datetime import UTC, datetime, timedelta

    from ui.formatting import age

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert [age(now - d, now) for d in (timedelta(seconds=20), timedelta(minutes=12), timedelta(hours=5, minutes=59),
                                        timedelta(days=3, hours=2), timedelta(seconds=-5))] == [
        "just now", "12 min", "5 h", "3 d", "just now"]
    assert age(None, now) == "–"
