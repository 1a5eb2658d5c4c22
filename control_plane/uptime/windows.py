"""Which stored form answers which part of a time window.

Raw checks are exact but many; hourly and daily roll-ups are few but only whole buckets. A window
[from, to) is cut into pieces: whole days from daily roll-ups, whole hours from hourly roll-ups,
and raw checks for the rest (the partial hours at the edges and anything not rolled up yet).
Where raw checks were already pruned, a partial edge hour is answered by its hourly roll-up when
that hour starts inside the window (accurate to the hour; only for history older than retention).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
RAW, HOURLY, DAILY = "raw", "hour", "day"


@dataclass(frozen=True)
class Marks:
    """raw_since: raw checks exist from here on (None: never pruned). hour_complete/day_complete:
    every roll-up bucket ending at or before it exists (None: no roll-ups to use)."""

    raw_since: datetime | None = None
    hour_complete: datetime | None = None
    day_complete: datetime | None = None


@dataclass(frozen=True)
class Piece:
    source: str  # raw | hour | day
    start: datetime
    end: datetime


def floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def floor_day(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def plan(start: datetime, end: datetime, marks: Marks) -> list[Piece]:
    """Pieces covering [start, end) in order, adjacent pieces of one source merged."""
    pieces: list[Piece] = []
    t = start
    while t < end:
        if marks.day_complete is not None and t == floor_day(t) and t + DAY <= min(end, marks.day_complete):
            step, source = DAY, DAILY
        elif marks.hour_complete is not None and t == floor_hour(t) and t + HOUR <= min(end, marks.hour_complete):
            step, source = HOUR, HOURLY
        else:
            boundary = floor_hour(t) + HOUR
            piece_end = min(boundary, end)
            if marks.raw_since is not None and t < marks.raw_since:
                if t == floor_hour(t):  # a partial hour at the end edge whose raw checks are gone
                    _append(pieces, Piece(HOURLY, t, t + HOUR))
                t = piece_end
                continue
            _append(pieces, Piece(RAW, t, piece_end))
            t = piece_end
            continue
        _append(pieces, Piece(source, t, t + step))
        t += step
    return pieces


def _append(pieces: list[Piece], piece: Piece) -> None:
    if pieces and pieces[-1].source == piece.source and pieces[-1].end == piece.start:
        pieces[-1] = Piece(piece.source, pieces[-1].start, piece.end)
    else:
        pieces.append(piece)
