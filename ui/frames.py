"""Data frames for tables built from the services' typed values, never from re-parsed strings.

pandas infers one datetime format from the first string it parses, so a column of ISO strings
with whole seconds in one row and fractions in the next fails to convert (the Tenants list broke
that way once a tenant was provisioned from the UI). Datetimes go in as datetimes; `utc` only
normalises their time zone and refuses strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import pandas as pd


def records_frame(records: Iterable[object], columns: Sequence[str]) -> pd.DataFrame:
    """One row per record (a dataclass or any object with these attributes), its values as they are."""
    return pd.DataFrame([{c: getattr(r, c) for c in columns} for r in records], columns=list(columns))


def utc(values: pd.Series) -> pd.Series:
    """`values` (datetimes, None allowed) as a UTC datetime column; a string is refused with TypeError."""
    strings = [v for v in values if isinstance(v, str)]
    if strings:
        raise TypeError(f"datetime expected, got the string {strings[0]!r}: pass the service's datetime")
    if not all(v is None or isinstance(v, datetime | pd.Timestamp) or pd.isna(v) for v in values):
        raise TypeError("datetime expected")
    return pd.to_datetime(values, utc=True)
