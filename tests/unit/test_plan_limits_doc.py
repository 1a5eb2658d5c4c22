"""The plan allowances table in docs/tenant-page.md is the one the page draws (domain/plan_limits.py)."""

from __future__ import annotations

import re
from pathlib import Path

from control_plane.domain.plan_limits import ALLOWANCES
from control_plane.units import human_bytes

DOC = Path(__file__).resolve().parents[2] / "docs" / "tenant-page.md"


def test_documented_allowances_match_the_declared_table():
    section = DOC.read_text().split("## Plan allowances", 1)[1]
    rows = re.findall(r"^\| (\w+) \| ([\d.,]+ \w+) \| ([\d,]+) \|$", section, re.MULTILINE)
    documented = {plan: (storage, requests) for plan, storage, requests in rows}
    declared = {plan: (human_bytes(a.storage_bytes).replace(".0 ", " "), f"{a.requests_per_day:,}")
                for plan, a in ALLOWANCES.items()}
    assert documented == declared
