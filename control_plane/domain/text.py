"""Text people typed, checked once at every service entry point before it reaches SQL.

PostgreSQL `text` cannot hold a NUL byte (psycopg raises DataError, an uncaught traceback), a lone
surrogate cannot be encoded at all, and control or bidi-override characters make audit lines and
CSV cells show something other than what was typed. `clean_text` turns all of that into one
ValidationError that names the field, and bounds the length, so nothing is written.
"""

from __future__ import annotations

import re

from control_plane.errors import InvalidInput

# Bounds shared by the entry points (docs/security.md "Sign-in"): codes and identifiers people type
# (plans, clusters, jobs), free-text reasons, and search boxes.
CODE_MAX = 64
REASON_MAX = 1000
SEARCH_MAX = 200


class ValidationError(InvalidInput):
    """Typed text that cannot be stored as it is (control characters, too long)."""


# Forbidden everywhere: C0 controls except tab/LF/CR, DEL, C1 controls, lone surrogates.
_ANYWHERE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Also forbidden on one line (names, reasons, search): tab/LF/CR, line/paragraph separators and
# the bidi embedding/override/isolate controls that reorder how the rest of a line is displayed.
_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMES = {"\x00": "NUL", "\t": "tab", "\n": "line break", "\r": "carriage return", "\x1b": "escape"}


def clean_text(value: object, field: str, max_len: int, *, multiline: bool = False) -> str:
    """`value` stripped, or ValidationError. None is "" (callers decide whether that is allowed).
    `field` is what the person calls it ("Reason", "Tenant name"); it starts the message."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.")
    bad = (_ANYWHERE if multiline else _ONE_LINE).search(value)
    if bad is not None:
        char = bad.group()
        what = _NAMES.get(char, f"U+{ord(char):04X}")
        raise ValidationError(f"{field} contains a control character ({what} at position {bad.start() + 1}); "
                              "remove it and try again.")
    text = value.strip()
    if len(text) > max_len:
        raise ValidationError(f"{field} is {len(text):,} characters long; at most {max_len:,} are allowed.")
    return text


def printable(value: object, max_len: int) -> str:
    """A bounded, storable rendering of untrusted text for logs and the audit log (never raises):
    control characters become escapes, and the text is cut at `max_len` with an ellipsis."""
    text = value if isinstance(value, str) else repr(value)
    text = _ONE_LINE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)
    return text if len(text) <= max_len else text[: max_len - 1] + "…"
