"""The sign-in throttle's rules, without storage: free failures, doubling locks, cap, forgetting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from control_plane.auth.throttle import DEFAULT_POLICY, KeyState, after_failure, is_stale, wait_left

T0 = datetime(2030, 1, 5, 12, 0, tzinfo=UTC)


def test_locks_start_at_the_fifth_failure_double_and_stop_at_15_minutes():
    locks = [DEFAULT_POLICY.lock_for(n) for n in range(1, 12)]
    assert locks[:4] == [None] * 4
    assert [lock.total_seconds() for lock in locks[4:]] == [30, 60, 120, 240, 480, 900, 900]
    assert DEFAULT_POLICY.lock_for(10**6) == timedelta(minutes=15)


def test_failures_accumulate_until_a_quiet_window_passes():
    state = KeyState(0, None, None)
    for minute in range(5):
        state, _ = after_failure(state, T0 + timedelta(minutes=minute), DEFAULT_POLICY)
    assert state.failures == 5 and state.locked_until == T0 + timedelta(minutes=4, seconds=30)
    assert wait_left([state], T0 + timedelta(minutes=4)) == timedelta(seconds=30)
    assert not is_stale(state, T0 + timedelta(minutes=19), DEFAULT_POLICY)
    assert is_stale(state, T0 + timedelta(minutes=19, seconds=30), DEFAULT_POLICY)
    fresh, expires_at = after_failure(state, T0 + timedelta(minutes=20), DEFAULT_POLICY)
    assert (fresh.failures, fresh.locked_until) == (1, None)
    assert expires_at == T0 + timedelta(minutes=35)


def test_wait_left_is_the_longest_lock_among_the_keys():
    now = T0
    states = [KeyState(5, now, now + timedelta(seconds=30)), KeyState(7, now, now + timedelta(minutes=2)),
              KeyState(2, now, None)]
    assert wait_left(states, now) == timedelta(minutes=2)
    assert wait_left([KeyState(5, now, now)], now) is None
