"""How repeated failed sign-ins are slowed down: the rules, without storage (see throttle_queries).

Failures are counted per account name as typed (whether or not the account exists, so the answer
never tells which names exist) and per client (IP address, else browser session). The first
`free_failures` failures cost nothing; each further one locks that key for twice as long as the
previous lock (30 s, 1 min, 2 min, ... at most 15 min). The count is forgotten once the key has
been quiet for `window` after its last failure or lock, so a patient attacker stays slowed down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    first_lock: timedelta = timedelta(seconds=30)
    max_lock: timedelta = timedelta(minutes=15)

    def lock_for(self, failures: int) -> timedelta | None:
        """How long a key is locked right after its `failures`-th failure (None: not locked)."""
        if failures < self.free_failures:
            return None
        doublings = min(failures - self.free_failures, 20)  # 2**20 × 30 s is far past any cap
        return min(self.first_lock * 2**doublings, self.max_lock)


DEFAULT_POLICY = ThrottlePolicy()


@dataclass(frozen=True)
class KeyState:
    failures: int
    last_failure_at: datetime | None
    locked_until: datetime | None


def is_stale(state: KeyState, now: datetime, policy: ThrottlePolicy) -> bool:
    """True when the key's failures no longer count (quiet for a whole window)."""
    marks = [t for t in (state.last_failure_at, state.locked_until) if t is not None]
    return not marks or max(marks) + policy.window <= now


def after_failure(state: KeyState, now: datetime, policy: ThrottlePolicy) -> tuple[KeyState, datetime]:
    """The key's state after one more failure at `now`, and when its row may be forgotten."""
    failures = 1 if is_stale(state, now, policy) else state.failures + 1
    lock = policy.lock_for(failures)
    locked_until = now + lock if lock else None
    new = KeyState(failures, now, locked_until)
    return new, (locked_until or now) + policy.window


def wait_left(states: list[KeyState], now: datetime) -> timedelta | None:
    """How long until every given key accepts an attempt again (None: not throttled)."""
    waits = [s.locked_until - now for s in states if s.locked_until is not None and s.locked_until > now]
    return max(waits) if waits else None
