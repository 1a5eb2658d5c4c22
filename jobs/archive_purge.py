"""Job `archive_purge` (not yet implemented)."""

from __future__ import annotations

from jobs.context import JobContext


def run(context: JobContext) -> str:
    return "not implemented yet"
