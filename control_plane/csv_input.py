"""CSV files people hand us (`billing import`, `uptime import`, `tenants provision-many`): strict
UTF-8, bounded, read row by row, every problem named by its line number (docs/cli.md "Command line").

Python's csv module over a text file turns common bytes into tracebacks: a latin-1 or binary file
raises UnicodeDecodeError (a byte offset, no line), a NUL byte travels on to PostgreSQL (which
refuses it in text), a field over 131,072 characters raises csv.Error. So the file is read in
binary one physical line at a time (bounded), each line is checked and decoded strictly, and the
csv module parses the decoded lines. Nothing is held but the current row: a 50 MB file streams.
A row is bounded too: the csv module builds a whole record before it returns it, so a quote left
open over millions of lines (`"a\n","b\n",…`) would gather every field in memory before anything
could refuse it. A record may span at most MAX_RECORD_LINES lines and MAX_RECORD_BYTES bytes; past
either, the file is refused naming the line where that record starts, while it is being read.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from control_plane.errors import InvalidInput

MAX_FIELD_CHARS = 131_072  # the csv module's own limit, named in the error instead of a traceback
MAX_LINE_BYTES = 1 << 20  # a row of ours is a few hundred bytes; a 1 MiB line is not a CSV row
MAX_RECORD_BYTES = MAX_LINE_BYTES  # one record (a row), whatever the number of lines it spans
MAX_RECORD_LINES = 1_000  # a quoted value may hold line breaks (a note), not a thousand of them
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def rows(path: Path, source: str | None = None, *, max_record_lines: int | None = None,
         max_record_bytes: int | None = None) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every record, header included; the line number is the record's
    last physical line (the header is line 1). Raises InvalidInput naming the line of the first
    byte that is not UTF-8, of a NUL byte, of a field, line or record that is too long, or of a
    quote that is never closed."""
    source = source or str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.") from exc
    with handle:
        bound = _RecordBound(source, max_record_lines or MAX_RECORD_LINES, max_record_bytes or MAX_RECORD_BYTES)
        reader = csv.reader(_lines(handle, source, bound), strict=True)
        last = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InvalidInput(f"{source}: {_csv_problem(str(exc), reader.line_num, last + 1)}") from None
            last = reader.line_num
            bound.ended(last)
            yield last, row


class _RecordBound:
    """Lines and bytes of the record being read, checked as each line is handed to the csv module."""

    def __init__(self, source: str, max_lines: int, max_bytes: int) -> None:
        self.source, self.max_lines, self.max_bytes = source, max_lines, max_bytes
        self.start, self.size = 1, 0

    def ended(self, line: int) -> None:
        self.start, self.size = line + 1, 0

    def add(self, number: int, size: int) -> None:
        self.size += size
        if number - self.start >= self.max_lines:
            raise InvalidInput(f"{self.source}: line {self.start}: a record starts here and goes on for more than "
                               f"{self.max_lines:,} lines (a quote opened and not closed?).")
        if self.size > self.max_bytes:
            raise InvalidInput(f"{self.source}: line {self.start}: a record starts here and is longer than "
                               f"{self.max_bytes:,} bytes (a quote opened and not closed?).")


def _lines(handle: BinaryIO, source: str, bound: _RecordBound) -> Iterator[str]:
    number = 0
    while raw := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise InvalidInput(f"{source}: line {number} is longer than {MAX_LINE_BYTES:,} bytes; "
                               "is this a CSV file?")
        bound.add(number, len(raw))
        if number == 1:
            if raw.startswith(_UTF16_BOMS):
                raise InvalidInput(f"{source}: line 1: the file is UTF-16 text; save it as UTF-8.")
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if b"\0" in raw:
            raise InvalidInput(f"{source}: line {number} contains a NUL byte (binary data?); "
                               "a CSV file has none.")
        try:
            # Lines split at b"\n" never cut a UTF-8 sequence (no multi-byte sequence contains 0x0a).
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{source}: line {number}: byte 0x{raw[exc.start]:02x} at position "
                               f"{exc.start + 1} is not UTF-8; save the file as UTF-8.") from None


def _csv_problem(message: str, line: int, record_start: int) -> str:
    if "field larger than field limit" in message:
        return f"line {line}: a field is longer than {MAX_FIELD_CHARS:,} characters."
    if "unexpected end of data" in message:
        return f"line {record_start}: a quoted field starts here and is never closed (unbalanced \")."
    if "new-line character seen in unquoted field" in message:
        return f"line {line}: a bare carriage return inside a field; save the file with LF or CRLF line ends."
    return f"line {line}: not valid CSV ({message})."
