"""Advisory locks are taken, released and looked for only in control_plane/db/advisory_locks.py
(docs/advisory-locks.md): its keys are the one list of what excludes what, so a new lock is added
there, not written again in a service."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE = "control_plane/db/advisory_locks.py"
LOCK_CALL = re.compile(r"\bpg_(try_)?advisory_(xact_)?(un)?lock(_shared|_all)?\s*\(", re.I)
LOCKS_READ = re.compile(r"locktype\b.{0,40}'advisory'", re.I)
# Reads of pg_locks that match many keys in one query (one per row of a larger table), which
# advisory_locks.held cannot express; their keys still come from the module.
BULK_READS = {"control_plane/fleet/queries.py", "control_plane/scheduler/schedule.py"}


def _offenders(pattern: re.Pattern[str], allowed: set[str]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{n}"
            for folder in ("control_plane", "jobs", "ui", "pages")
            for path in sorted((ROOT / folder).rglob("*.py"))
            if str(path.relative_to(ROOT)) not in allowed
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if pattern.search(line)]


def test_no_advisory_lock_call_outside_the_module():
    assert _offenders(LOCK_CALL, {MODULE}) == []


def test_no_new_reader_of_advisory_locks_outside_the_module():
    assert _offenders(LOCKS_READ, {MODULE} | BULK_READS) == []


def test_the_patterns_find_what_they_must():
    for call in ("SELECT pg_try_advisory_lock(1)", "pg_catalog.pg_advisory_xact_lock(:key)",
                 "SELECT pg_advisory_unlock(hashtextextended({}, 0))", "pg_advisory_unlock_all()",
                 "pg_try_advisory_xact_lock_shared(1, 2)"):
        assert LOCK_CALL.search(call), call
    assert LOCKS_READ.search("WHERE l.locktype = 'advisory' AND")
    assert LOCKS_READ.search("l.locktype OPERATOR(pg_catalog.=) CAST('advisory' AS pg_catalog.text)")
