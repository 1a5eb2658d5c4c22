"""A CSV record is bounded while it is read (control_plane/csv_input.py): a quote left open over
many lines is refused naming the line where the record starts, before its fields pile up in memory
(docs/security.md "Untrusted input")."""

from __future__ import annotations

import tracemalloc

import pytest

from control_plane import csv_input
from control_plane.errors import InvalidInput

HEADER = b"target,checked_at,ok,latency_ms\n"
GOOD = b"api,2025-03-01T00:00:00Z,true,12\n"


def _read(path, **bounds) -> list[tuple[int, list[str]]]:
    return list(csv_input.rows(path, "f.csv", **bounds))


def test_a_record_over_too_many_lines_is_refused_naming_where_it_starts(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(HEADER + GOOD + b'"x\n",' * 3_000 + b'"end"\n' + GOOD)
    with pytest.raises(InvalidInput, match=r"^f\.csv: line 3: a record starts here and goes on for more than "
                                           r"1,000 lines \(a quote opened and not closed\?\)\.$"):
        _read(path)


def test_the_bounds_can_be_lowered_and_a_quoted_note_within_them_passes(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(HEADER + b'api,"a note\nover\nthree lines",true,1\n' + GOOD + b'"' + b"\n" * 10 + b'"\n')
    with pytest.raises(InvalidInput, match="line 6: a record starts here and goes on for more than 5 lines"):
        _read(path, max_record_lines=5)
    assert [n for n, _ in _read(path)] == [1, 4, 5, 16]
    path.write_bytes(HEADER + GOOD + b'"' + b"ab\n" * 40 + b'"\n')
    with pytest.raises(InvalidInput, match="line 3: a record starts here and is longer than 100 bytes"):
        _read(path, max_record_bytes=100)


def test_a_hostile_record_is_refused_in_little_memory(tmp_path):
    """~6 MB of one record (a million short fields over as many lines): before the bound it was
    all held as a list of strings (~250 MB for 60 MB) and only then refused."""
    path = tmp_path / "f.csv"
    with path.open("wb") as out:
        out.write(HEADER)
        for _ in range(100):
            out.write(b'"ab\n",' * 10_000)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput, match="line 2: a record starts here"):
            _read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20, f"peak {peak:,} bytes"
