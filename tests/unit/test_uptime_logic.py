"""Hand-worked cases for incident detection, window planning and SLO arithmetic."""

from datetime import UTC, datetime, timedelta

import pytest

from control_plane.uptime import slo
from control_plane.uptime.windows import DAILY, HOURLY, RAW, Marks, Piece, plan
from tests.incident_model import Check, detect, mttr_seconds

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def series(pattern: str, start: datetime = T0, step: timedelta = timedelta(minutes=1)) -> list[Check]:
    """'.' ok, 'x' failed, 'm' failed inside maintenance."""
    return [Check(start + i * step, ch == ".", None if ch == "." else f"e{i}", ch == "m")
            for i, ch in enumerate(pattern)]


def test_run_below_threshold_is_no_incident():
    assert detect(series("..xx..xx.."), 3) == []


def test_incident_opens_at_first_failure_and_resolves_at_next_ok():
    (episode,) = detect(series("..xxx.."), 3)
    assert episode.opened_at == T0 + timedelta(minutes=2)
    assert episode.resolved_at == T0 + timedelta(minutes=5)
    assert episode.failed_checks == 3
    assert episode.duration_seconds == 180
    assert episode.last_error == "e4"


def test_unresolved_incident_at_the_end():
    (episode,) = detect(series("..xxxxx"), 3)
    assert episode.resolved_at is None and episode.failed_checks == 5
    assert mttr_seconds([episode]) is None


def test_threshold_is_configurable_and_runs_are_separate():
    checks = series("x.xx.xxx.")
    assert [e.failed_checks for e in detect(checks, 1)] == [1, 2, 3]
    assert [e.failed_checks for e in detect(checks, 2)] == [2, 3]
    episodes = detect(checks, 2)
    assert mttr_seconds(episodes) == (60 * 2 + 60 * 3) / 2


def test_maintenance_checks_neither_extend_nor_break_a_run():
    # x m x x: the maintenance check is skipped, the three real failures form one run
    (episode,) = detect(series("xmxx."), 3)
    assert episode.opened_at == T0 and episode.failed_checks == 3
    assert detect(series("mmmm."), 1) == []


def test_plan_without_rollups_is_all_raw():
    a, b = T0 + timedelta(minutes=7), T0 + timedelta(days=2, minutes=3)
    assert plan(a, b, Marks()) == [Piece(RAW, a, b)]


def test_plan_uses_days_then_hours_then_raw_edges():
    start = datetime(2025, 3, 1, 22, 30, tzinfo=UTC)
    end = datetime(2025, 3, 4, 1, 15, tzinfo=UTC)
    marks = Marks(hour_complete=datetime(2025, 3, 4, 1, tzinfo=UTC), day_complete=datetime(2025, 3, 4, tzinfo=UTC))
    assert plan(start, end, marks) == [
        Piece(RAW, start, datetime(2025, 3, 1, 23, tzinfo=UTC)),
        Piece(HOURLY, datetime(2025, 3, 1, 23, tzinfo=UTC), datetime(2025, 3, 2, tzinfo=UTC)),
        Piece(DAILY, datetime(2025, 3, 2, tzinfo=UTC), datetime(2025, 3, 4, tzinfo=UTC)),
        Piece(HOURLY, datetime(2025, 3, 4, tzinfo=UTC), datetime(2025, 3, 4, 1, tzinfo=UTC)),
        Piece(RAW, datetime(2025, 3, 4, 1, tzinfo=UTC), end),
    ]


def test_plan_falls_back_to_raw_past_the_rollup_marks():
    start, end = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 3, 12, tzinfo=UTC)
    marks = Marks(hour_complete=datetime(2025, 3, 2, 6, tzinfo=UTC), day_complete=datetime(2025, 3, 2, tzinfo=UTC))
    assert plan(start, end, marks) == [
        Piece(DAILY, start, datetime(2025, 3, 2, tzinfo=UTC)),
        Piece(HOURLY, datetime(2025, 3, 2, tzinfo=UTC), datetime(2025, 3, 2, 6, tzinfo=UTC)),
        Piece(RAW, datetime(2025, 3, 2, 6, tzinfo=UTC), end),
    ]


def test_plan_in_pruned_history_takes_the_edge_hour_that_starts_inside():
    marks = Marks(raw_since=datetime(2025, 3, 10, tzinfo=UTC), hour_complete=datetime(2025, 3, 10, tzinfo=UTC))
    start, end = datetime(2025, 3, 1, 10, 20, tzinfo=UTC), datetime(2025, 3, 1, 12, 40, tzinfo=UTC)
    assert plan(start, end, marks) == [
        Piece(HOURLY, datetime(2025, 3, 1, 11, tzinfo=UTC), datetime(2025, 3, 1, 13, tzinfo=UTC))]


def test_error_budget_of_99_9_over_30_days_is_43_2_minutes():
    assert slo.budget_minutes(0.999) == pytest.approx(43.2)


def test_burn_rate_and_budget_left():
    assert slo.burn_rate(1000, 999, 0.999) == pytest.approx(1.0)
    assert slo.burn_rate(1000, 1000, 0.999) == 0
    assert slo.burn_rate(0, 0, 0.999) is None
    assert slo.budget_left_pct(10_000, 9_995, 0.999) == pytest.approx(50.0)
    assert slo.budget_left_pct(1000, 990, 0.999) == pytest.approx(-900.0)


def test_sre_workbook_burn_windows():
    assert [(w.long, w.short, w.factor) for w in slo.BURN_WINDOWS] == [
        (timedelta(hours=1), timedelta(minutes=5), 14.4),
        (timedelta(hours=6), timedelta(minutes=30), 6.0),
        (timedelta(days=3), timedelta(hours=6), 1.0)]
    fast = slo.BURN_WINDOWS[0]
    # (checks, ok): 4 of 4000 failed is a burn rate of exactly 1.0; 58 of 4000 is 14.5
    assert slo.firing(fast, (4000, 4000 - 58), (100, 90), 0.999)
    assert not slo.firing(fast, (4000, 4000 - 100), (100, 99), 0.999)  # the short window says it is already over
    assert not slo.firing(fast, None, (100, 90), 0.999)


def test_a_burn_rate_exactly_at_its_factor_fires():
    """(4/4000)/(1-0.999) is 0.9999999999999991 in binary floating point: decided exactly, it reaches 1."""
    ticket = slo.BURN_WINDOWS[2]
    assert slo.reaches(ticket, 4000, 3996, 0.999)
    assert not slo.reaches(ticket, 4001, 3997, 0.999)
    fast = slo.BURN_WINDOWS[0]
    assert slo.reaches(fast, 1000, 1000 - 72, 0.995)  # 0.072 / 0.005 = 14.4 exactly
    assert slo.burn_exact(4000, 3996, 0.999) == 1


def test_slo_met_on_the_exact_uptime():
    assert slo.slo_met(1000, 999, 0.999)
    assert not slo.slo_met(400_000, 399_599, 0.999)  # 99.89975 %, which rounds to 99.900
    assert slo.slo_met(0, 0, 0.999) is None


def test_half_up_on_the_exact_decimal():
    from fractions import Fraction

    from control_plane.uptime.figures import fixed, half_up

    assert half_up(Fraction(100 * 1585, 1600), 3) == 99.063  # 99.0625; round() gives 99.062
    assert half_up(502.95, 1) == 503.0  # round() gives 502.9
    assert half_up(Fraction(-1225, 100), 1) == -12.3  # ties away from zero
    assert half_up(Fraction(1, 3), 2) == 0.33 and half_up(None, 1) is None
    assert fixed(Fraction(201, 80), 2) == "2.51" and fixed(None, 1) == "no data"
