"""ui/frames.py: tables from typed values; a datetime column refuses strings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ui.frames import records_frame, utc


@dataclass
class Row:
    slug: str
    created_at: datetime | None


def test_mixed_precision_and_offsets_become_one_utc_column():
    rows = [Row("a", datetime(2026, 12, 5, 8, 15, 16, tzinfo=UTC)),
            Row("b", datetime(2026, 12, 5, 10, 15, 16, 338296, tzinfo=timezone(timedelta(hours=2)))),
            Row("c", None)]
    frame = records_frame(rows, ["slug", "created_at"])
    column = utc(frame["created_at"])
    assert str(column.dtype).startswith("datetime64") and str(column.dt.tz) == "UTC"
    assert column[1] == datetime(2026, 12, 5, 8, 15, 16, 338296, tzinfo=UTC)
    assert column.isna()[2]


def test_strings_are_refused():
    frame = records_frame([Row("a", "2026-12-05T08:15:16.338296+00:00")], ["slug", "created_at"])
    with pytest.raises(TypeError, match="datetime expected"):
        utc(frame["created_at"])
