"""`--format json` of a large report (`tenants verify-schemas` at 20,000 tenants, issue 19): the
same bytes as json.dumps(indent=2), written in a few large writes rather than one per piece (a
second of writes for 20,000 rows; bench/README.md "Fleet reads")."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

from control_plane.cli.common import emit


class _CountingOut(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _emitted(monkeypatch, rows) -> _CountingOut:
    out = _CountingOut()
    monkeypatch.setattr("sys.stdout", out)
    emit(rows, "json")
    return out


def test_a_large_report_is_the_same_text_in_a_few_writes(monkeypatch):
    rows = [{"tenant": f"t{i:05d}", "cluster": "default", "version": 2, "status": "ok", "fingerprint": "ab12",
             "missing": [] if i % 7 else ["column tasks.notes text"], "unexpected": [], "amount": Decimal("1.50"),
             "at": datetime(2026, 12, 6, tzinfo=UTC)} for i in range(5_000)]
    out = _emitted(monkeypatch, rows)
    plain = [{**r, "amount": "1.50", "at": "2026-12-06T00:00:00+00:00"} for r in rows]
    assert out.getvalue() == json.dumps(plain, indent=2) + "\n"
    assert out.writes <= 50  # ~200,000 pieces


def test_one_object_and_an_empty_list_are_as_before(monkeypatch):
    assert _emitted(monkeypatch, {"run": None}).getvalue() == '{\n  "run": null\n}\n'
    assert _emitted(monkeypatch, []).getvalue() == "[]\n"
