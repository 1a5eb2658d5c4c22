"""Reference model of incident detection, for tests only: the product detects incidents in SQL
(control_plane/uptime/runs.py); this walks an ordered list of checks in plain Python, straight
from the definition in docs/monitoring.md "Incidents", so the two can be compared.

An incident opens at the first failed check of a run of at least `threshold` consecutive failed
checks and resolves at the next ok check. Checks inside a maintenance window are skipped: they
neither extend nor break a run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Check:
    at: datetime
    ok: bool
    error: str | None = None
    in_maintenance: bool = False


@dataclass(frozen=True)
class Episode:
    opened_at: datetime
    resolved_at: datetime | None
    failed_checks: int
    last_error: str | None

    @property
    def duration_seconds(self) -> float | None:
        return None if self.resolved_at is None else (self.resolved_at - self.opened_at).total_seconds()


def detect(checks: Iterable[Check], threshold: int) -> list[Episode]:
    """`checks` in time order. An unfinished run of >= threshold failures is an open episode."""
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    episodes: list[Episode] = []
    run_start: datetime | None = None
    run_length = 0
    last_error: str | None = None
    for check in checks:
        if check.in_maintenance:
            continue
        if not check.ok:
            if run_length == 0:
                run_start = check.at
            run_length += 1
            last_error = check.error or last_error
            continue
        if run_length >= threshold and run_start is not None:
            episodes.append(Episode(run_start, check.at, run_length, last_error))
        run_start, run_length, last_error = None, 0, None
    if run_length >= threshold and run_start is not None:
        episodes.append(Episode(run_start, None, run_length, last_error))
    return episodes


def mttr_seconds(episodes: Iterable[Episode]) -> float | None:
    durations = [e.duration_seconds for e in episodes if e.duration_seconds is not None]
    return sum(durations) / len(durations) if durations else None
