"""Storage of the sign-in throttle (catalog table sign_in_throttle), in the caller's transaction.

`claim` inserts the keys' rows when missing and locks them FOR UPDATE, always account before
client: attempts on the same account or from the same client run one after another, across app
processes, so a burst of parallel guesses cannot all slip in before the first failure counts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from control_plane.auth.throttle import KeyState, ThrottlePolicy, after_failure
from control_plane.db.models import SignInThrottle

Key = tuple[str, str]  # (scope, key): ("account", "alice") or ("client", "ip:203.0.113.9")


def claim(session: Session, keys: list[Key], now: datetime, policy: ThrottlePolicy) -> list[KeyState]:
    states = []
    for scope, key in sorted(keys):  # one fixed lock order: no deadlock between two attempts
        session.execute(pg_insert(SignInThrottle)
                        .values(scope=scope, key=key, failures=0, expires_at=now + policy.window)
                        .on_conflict_do_nothing(index_elements=["scope", "key"]))
        row = session.execute(select(SignInThrottle.failures, SignInThrottle.last_failure_at,
                                     SignInThrottle.locked_until)
                              .where(SignInThrottle.scope == scope, SignInThrottle.key == key)
                              .with_for_update()).one()
        states.append(KeyState(row.failures, row.last_failure_at, row.locked_until))
    return states


def record_failure(session: Session, keys: list[Key], states: list[KeyState], now: datetime,
                   policy: ThrottlePolicy) -> list[KeyState]:
    """Count one failure on each claimed key (same order as `claim` returned the states)."""
    updated = []
    for (scope, key), state in zip(sorted(keys), states, strict=True):
        new, expires_at = after_failure(state, now, policy)
        session.execute(update(SignInThrottle)
                        .where(SignInThrottle.scope == scope, SignInThrottle.key == key)
                        .values(failures=new.failures, last_failure_at=new.last_failure_at,
                                locked_until=new.locked_until, expires_at=expires_at))
        updated.append(new)
    # Rows of names typed once and never again would pile up: forget every row past its expiry.
    # SKIP LOCKED: a row another attempt holds is left for later, so two attempts never wait on
    # each other's rows here (that would be a deadlock, each holding its own keys).
    stale = (select(SignInThrottle.scope, SignInThrottle.key).where(SignInThrottle.expires_at < now)
             .with_for_update(skip_locked=True))
    session.execute(delete(SignInThrottle).where(tuple_(SignInThrottle.scope, SignInThrottle.key).in_(stale)))
    return updated


def forget(session: Session, key: Key) -> None:
    session.execute(delete(SignInThrottle).where(SignInThrottle.scope == key[0], SignInThrottle.key == key[1]))


def forget_if_clean(session: Session, key: Key) -> None:
    """Drop a row `claim` created for an attempt that then succeeded (no failures to remember)."""
    session.execute(delete(SignInThrottle).where(SignInThrottle.scope == key[0], SignInThrottle.key == key[1],
                                                 SignInThrottle.failures == 0))
