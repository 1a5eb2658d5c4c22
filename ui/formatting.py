"""The one display layer (docs/pages.md "Display conventions"): money, percentages, durations, UTC
times, human column names, missing values, yes/no, before/after diffs and tenant names for
health-check targets. Pages show what these return; CSV downloads keep the raw values.

Rounding is the half-up rule of docs/uptime.md "Rounding" (control_plane/uptime/figures.py), so a
figure on screen and in a message or the CLI never differ in the last digit."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from control_plane.units import human_bytes
from control_plane.uptime import targets
from control_plane.uptime.figures import exact, fixed, rounded_decimal

MISSING = "—"  # what an empty cell, tile or value shows; never "None", "NaN" or "NaT"

Number = int | float | Decimal | Fraction


def is_missing(value: object) -> bool:
    """None, NaN, NaT and pandas' NA: nothing to show."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def money(value: Number | None, currency: str = "$") -> str:
    """An amount in whole currency units, to the cent: $1,234.56, -$0.01."""
    if is_missing(value):
        return MISSING
    amount = rounded_decimal(value, 2)
    sign = "-" if amount < 0 else ""
    return f"{sign}{currency}{abs(amount):,.2f}"


def cents(value: int | None, currency: str = "$") -> str:
    """An amount kept in cents (the billing import's unit): 123456 -> $1,234.56."""
    return MISSING if is_missing(value) else money(Fraction(int(value), 100), currency)


def compact_money(value: Number | None, currency: str = "$") -> str:
    """$929.9k / $11.16M for headline tiles, where the exact amount would be cut off; below
    $10,000 the exact amount fits and is shown."""
    if is_missing(value):
        return MISSING
    amount = exact(value)
    sign = "-" if amount < 0 else ""
    for threshold, divisor, suffix, places in ((10**6, 10**6, "M", 2), (10**4, 10**3, "k", 1)):
        if abs(amount) >= threshold:
            return f"{sign}{currency}{rounded_decimal(abs(amount) / divisor, places):,.{places}f}{suffix}"
    return money(amount, currency)


def byte_scale(largest: float) -> tuple[float, str]:
    """The divisor and unit that show `largest` bytes with a readable number (KiB … TiB)."""
    for power, unit in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if abs(largest) >= 1024**power:
            return 1024.0**power, unit
    return 1.0, "B"


def percent(value: Number | None, places: int = 1) -> str:
    """A percentage already in percent units, rounded half-up: 99.0625 -> "99.063 %" (places=3)."""
    return MISSING if is_missing(value) else f"{_grouped(fixed(value, places))} %"


def number(value: Number | None, places: int = 0) -> str:
    """A count or measure with thousands separators, rounded half-up: 1234567 -> "1,234,567"."""
    return MISSING if is_missing(value) else _grouped(fixed(value, places))


def _grouped(text: str) -> str:
    whole, dot, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-')):,}{dot}{fraction}"


def duration(value: float | int | timedelta | None) -> str:
    """A length of time in its two largest units: "850 ms", "4.2 s", "3 min 12 s", "2 h 5 min",
    "3 d 4 h"; seconds rounded half-up to the shown unit."""
    if is_missing(value):
        return MISSING
    seconds = exact(value.total_seconds()) if isinstance(value, timedelta) else exact(value)
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    if seconds < 1 and seconds != 0:
        return f"{sign}{fixed(seconds * 1000, 0)} ms"
    if seconds < 10:
        tenths = fixed(seconds, 1)
        return f"{sign}{tenths.removesuffix('.0')} s"
    whole = int(rounded_decimal(seconds, 0))
    parts = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if whole >= size or (parts and len(parts) < 2):
            parts.append(f"{whole // size} {unit}")
            whole %= size
        if len(parts) == 2:
            break
    if len(parts) == 2 and parts[1].startswith("0 "):
        parts.pop()
    return sign + " ".join(parts)


def utc_time(value: datetime | date | str | None, *, seconds: bool = False) -> str:
    """A moment as UTC text, "2026-12-05 08:15 UTC", never a "+00:00" offset. A naive datetime is
    taken as UTC (the catalog stores UTC); a date is shown as the date."""
    if is_missing(value):
        return MISSING
    if isinstance(value, str):  # ISO text from a JSON payload (the audit log's before/after)
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        return value.isoformat()
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def when(value: datetime | None) -> str:
    """The short UTC form used in sentences and tiles."""
    return utc_time(value)


def age(since: datetime | None, now: datetime) -> str:
    """How long ago, in the largest whole unit: "just now", "12 min", "5 h", "3 d"."""
    if is_missing(since):
        return MISSING
    seconds = max(0, int((now - since).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return "just now"


def yes_no(value: object, yes: str = "yes", no: str = "no") -> str:
    """A flag in words (a legend or cell never reads "True"/"False")."""
    return MISSING if is_missing(value) else (yes if bool(value) else no)


def text(value: object) -> str:
    """Any value as cell text; missing ones as MISSING."""
    return MISSING if is_missing(value) else str(value)


# --- Column names ----------------------------------------------------------------------------

WORDS = {  # words that keep their own spelling in a header
    "mrr": "MRR", "arr": "ARR", "arpa": "ARPA", "nrr": "NRR", "grr": "GRR", "acu": "ACU", "id": "ID",
    "url": "URL", "sla": "SLA", "slo": "SLO", "mttr": "MTTR", "sql": "SQL", "csv": "CSV", "aws": "AWS",
    "s3": "S3", "sns": "SNS", "http": "HTTP", "p95": "p95", "ok": "OK", "email": "e-mail", "utc": "UTC",
}
UNITS = {"pct": "%", "ms": "(ms)", "s": "(s)", "min": "(min)", "minutes": "(min)", "bytes": "(bytes)",
         "acu": "(ACU)", "24h": "(24 h)", "7d": "(7 d)", "30d": "(30 d)", "1h": "(1 h)"}
LABELS = {  # names whose mechanical reading would be wrong or clumsy
    "at": "When", "actor_role": "Role", "tenant_slug": "Tenant", "slug": "Slug", "job_id": "Job",
    "owner_email": "Owner e-mail", "created_at": "Created", "updated_at": "Updated", "opened_at": "Opened",
    "resolved_at": "Resolved", "started_at": "Started", "finished_at": "Finished", "cleared_at": "Cleared",
    "last_login_at": "Last sign-in", "acknowledged_at": "Acknowledged", "acknowledged_by": "Acknowledged by",
    "duration_min": "Duration", "previous_mrr": "Previous MRR", "is_demo": "Demo", "every_s": "Every",
    "timeout_s": "Timeout", "seconds": "Took", "last_seconds": "Took", "status_reason": "Status reason",
    "within_slo": "Within SLO", "slo_met": "SLO met", "slo_ms": "SLO (ms)", "storage_bytes": "Storage",
    "publish_error": "Publish error", "display_name": "Display name", "sign_in": "Sign-in",
    "new_max_acu": "New max ACU", "current_max_acu": "Max ACU before", "template_version": "Version",
}


def column_label(name: str) -> str:
    """A data column's name as a person reads it: error_rate_pct -> "Error rate %", actor_role ->
    "Role", p95_latency_ms -> "p95 latency (ms)"."""
    if name in LABELS:
        return LABELS[name]
    if "_" not in name and name.lower() == name and name not in WORDS and name not in UNITS:
        return name[:1].upper() + name[1:]
    words = [w for w in str(name).split("_") if w]
    unit = UNITS.get(words[-1]) if len(words) > 1 else None
    if unit:
        words = words[:-1]
    shown = [WORDS.get(w, w) for w in words]
    label = " ".join(shown)
    if words and words[0] not in WORDS:
        label = label[:1].upper() + label[1:]
    return f"{label} {unit}" if unit else label


def columns(names: Iterable[str], **overrides: object) -> dict[str, object]:
    """A column_config mapping every name to its human label; `overrides` (a label or a
    st.column_config object) win. For frames shown with their raw values (sortable numbers)."""
    config: dict[str, object] = {n: column_label(n) for n in names}
    config.update(overrides)
    return config


# --- Whole tables ----------------------------------------------------------------------------

def table(frame: pd.DataFrame, *, money_cols: Iterable[str] = (), cents_cols: Iterable[str] = (),
          percent_cols: Mapping[str, int] | Iterable[str] = (), duration_cols: Iterable[str] = (),
          minutes_cols: Iterable[str] = (), time_cols: Iterable[str] = (), flag_cols: Mapping[str, tuple[str, str]]
          | Iterable[str] = (), labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A copy of `frame` for the screen: each named column formatted (text), every other column with
    a missing value shown as MISSING, datetimes as UTC text, booleans as yes/no, and the headers
    human (column_label, `labels` winning). Numeric columns without gaps stay numbers (sortable)."""
    shown = frame.copy()
    places = percent_cols if isinstance(percent_cols, Mapping) else dict.fromkeys(percent_cols, 1)
    flags = flag_cols if isinstance(flag_cols, Mapping) else dict.fromkeys(flag_cols, ("yes", "no"))
    formats = {**{c: money for c in money_cols}, **{c: cents for c in cents_cols},
               **{c: (lambda v, p=p: percent(v, p)) for c, p in places.items()},
               **{c: duration for c in duration_cols},
               **{c: (lambda v: duration(None if is_missing(v) else v * 60)) for c in minutes_cols},
               **{c: utc_time for c in time_cols},
               **{c: (lambda v, w=w: yes_no(v, *w)) for c, w in flags.items()}}
    for column in shown.columns:
        values = shown[column]
        if column in formats:
            shown[column] = [formats[column](v) for v in values]
        elif pd.api.types.is_datetime64_any_dtype(values) or _all_of(values, datetime):
            shown[column] = [utc_time(v) for v in values]
        elif pd.api.types.is_bool_dtype(values) or _all_of(values, bool):
            shown[column] = [yes_no(v) for v in values]
        elif values.map(is_missing).any():
            shown[column] = [_cell(v) for v in values]
    return shown.rename(columns={c: (labels or {}).get(c, column_label(c)) for c in shown.columns})


def _all_of(values: pd.Series, kind: type) -> bool:
    present = [v for v in values if not is_missing(v)]
    return bool(present) and values.dtype == object and all(isinstance(v, kind) for v in present)


def _cell(value: object) -> str:
    if is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, datetime):
        return utc_time(value)
    if isinstance(value, int | Decimal):
        return number(value)
    if isinstance(value, float):
        return number(value, 0 if value.is_integer() else 2)
    return str(value)


# --- Audit before/after ----------------------------------------------------------------------

def _payload(value: object) -> dict[str, object]:
    if is_missing(value) or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"value": value}
    return dict(value) if isinstance(value, Mapping) else {"value": value}


def _shown(value: object) -> str:
    if is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        return utc_time(value)
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def diff(before: object, after: object) -> str:
    """An audit entry's before/after (dicts or their JSON text) as "field: old → new" per changed
    field, "; " between; a field only in one side shows MISSING on the other. Unchanged fields are
    left out; no change at all is MISSING."""
    old, new = _payload(before), _payload(after)
    changes = [f"{key}: {_shown(old.get(key))} → {_shown(new.get(key))}"
               for key in sorted(old.keys() | new.keys(), key=str) if old.get(key) != new.get(key)]
    return "; ".join(changes) if changes else MISSING


def fields(value: object) -> str:
    """A JSON payload (an audit entry's detail) as "key: value; key: value"; nothing as MISSING."""
    payload = _payload(value)
    return "; ".join(f"{k}: {_shown(v)}" for k, v in sorted(payload.items(), key=lambda kv: str(kv[0]))) or MISSING


def audit_table(entries: pd.DataFrame) -> pd.DataFrame:
    """The audit log as read on screen: time to the second, before/after as one Change column."""
    changes = [diff(b, a) for b, a in zip(entries["before"], entries["after"], strict=True)]
    shown = entries.drop(columns=["before", "after"]).assign(
        at=[utc_time(v, seconds=True) for v in entries["at"]], detail=entries["detail"].map(fields))
    shown.insert(list(shown.columns).index("reason") + 1, "change", changes)
    return table(shown, labels={"at": "When (UTC)", "detail": "Details"})


# --- Health-check targets --------------------------------------------------------------------

KIND_WORDS = {targets.SCHEMA: "database", targets.HTTP: "HTTP", targets.AURORA: "Aurora",
              targets.DATABASE: "cluster database"}


def target_label(target: str | None, names: Mapping[str, str]) -> str:
    """A check target as a person knows it: "schema:acme" -> "Acme Corp · database" when the tenant's
    name is known, "acme · database" when not; platform targets as "main · Aurora"."""
    if is_missing(target):
        return MISSING
    kind, sep, rest = str(target).partition(":")
    if not sep or not rest:
        return names.get(str(target), str(target))
    owner = names.get(rest, rest) if kind in targets.TENANT_KINDS else rest
    return f"{owner} · {KIND_WORDS.get(kind, kind)}"


# --- Changes and shares (the tenant page, docs/tenant-page.md) ----------------------------

def utc_day(value: datetime | None) -> str:
    return MISSING if value is None else value.astimezone(UTC).strftime("%Y-%m-%d")


def signed_bytes(change: int) -> str:
    """+292.9 KiB / −1.5 MiB / ±0 B: the sign leads, so Streamlit colours the delta by it."""
    if change == 0:
        return "±0 B"
    return ("+" if change > 0 else "-") + human_bytes(abs(change))


def signed_count(change: float, places: int = 0) -> str:
    if round(change, places) == 0:
        return "±0"
    return f"{change:+,.{places}f}"


def signed_cents(value: int) -> str:
    if value == 0:
        return "±$0.00"
    return ("+" if value > 0 else "") + money(Decimal(value) / 100)


def share(value: Fraction | None) -> str:
    """A fraction of an allowance as a percentage, one decimal ("< 0.1 %" rather than a bare 0.0)."""
    if value is None:
        return MISSING
    pct = float(value) * 100
    if 0 < pct < 0.05:
        return "< 0.1 %"
    return f"{pct:,.1f} %"


def days_until(when: datetime, now: datetime) -> str:
    days = (when - now).days
    if when <= now:
        return "due now"
    return "in less than a day" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
