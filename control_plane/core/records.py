"""A read model (a frozen dataclass) as plain values, for JSON, CSV and audit details: one rule for
every view instead of an as_dict per class."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any


def record(view: Any) -> dict[str, Any]:
    """The view's fields in declaration order; times and dates as ISO 8601 text."""
    return {name: _plain(value) for name, value in asdict(view).items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
