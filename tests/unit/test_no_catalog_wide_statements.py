"""No statement whose cost follows the whole catalog on a per-tenant path (docs/lifecycle.md):
`GRANT/REVOKE … ON ALL TABLES|SEQUENCES|FUNCTIONS IN SCHEMA` scans every pg_class
row of the database, so at 20,000 tenants one suspend would read a million rows."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ON_ALL = re.compile(r"\b(GRANT|REVOKE)\b.*\bON\s+ALL\s+(TABLES|SEQUENCES|FUNCTIONS|ROUTINES|PROCEDURES)"
                    r"\s+IN\s+SCHEMA\b", re.I)


def test_no_grant_or_revoke_on_all_objects_in_a_schema():
    offenders = [f"{path.relative_to(ROOT)}:{n}"
                 for folder in ("control_plane", "jobs")
                 for path in sorted((ROOT / folder).rglob("*.py"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if ON_ALL.search(line) and not line.lstrip().startswith("#")]
    assert offenders == []


def test_the_pattern_finds_what_it_must():
    assert ON_ALL.search("GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}")
    assert ON_ALL.search("revoke all on all sequences in schema x from y")
