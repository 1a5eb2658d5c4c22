"""CSV cells that a spreadsheet would run as a formula, made inert (docs/security.md "Untrusted input").

Excel, LibreOffice and Google Sheets evaluate a cell whose text starts with `=`, `+`, `-`, `@`,
tab or carriage return (OWASP "CSV Injection"), e.g. a tenant named `=HYPERLINK("http://x","y")`
or a user name typed at the sign-in form that the audit log recorded. Such a cell gets a leading
`'`, which spreadsheets read as "this is text". Numbers are never touched: an amount such as the
MRR table's -120.00 must stay a number, whether it arrives as a Decimal or as the text of a plain
number (a plain number cannot call anything). Every CSV the project writes goes through here:
`--format csv` of the CLI and every download button of the app.

defusedcsv (PyPI) does the same for `csv.writer` only, and leaves tab and carriage return alone,
so the rule is kept here, in a few lines, for both the csv module and pandas.
"""

from __future__ import annotations

import numbers
import re
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas only for the app's downloads: the CLI starts without it
    import pandas as pd

# NUL, line feed and the full-width forms are read as formula starts by some spreadsheets too.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SCALARS = (numbers.Number, datetime, date, time, timedelta)  # pandas' Timestamp/Timedelta included


def cell(value: Any) -> Any:
    """`value` unchanged unless its text would start a formula; then that text behind a `'`."""
    if value is None or isinstance(value, _SCALARS):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return value


def frame(data: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells are neutralised; numeric, boolean and date columns are left as
    they are (their dtype proves no cell is text)."""
    import pandas as pd

    safe = data.copy()
    for column in safe.columns:
        series = safe[column]
        if (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
                or pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series)):
            continue
        safe[column] = series.astype(object).map(cell)
    return safe


def frame_to_csv(data: pd.DataFrame) -> bytes:
    """The CSV bytes of `data` (no index), formula-safe."""
    return frame(data).to_csv(index=False).encode()
