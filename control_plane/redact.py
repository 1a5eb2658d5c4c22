"""Credentials never reach a log line or a stored error (docs/troubleshooting.md "Troubleshooting").

Three shapes of secret reach our logs: URLs with `user:password@` (httpx logs every request URL,
cluster URLs end up in libpq messages), `password=...` in libpq keyword DSNs, and libpq's own
parse errors, which quote the piece of the connection string they could not read (with
`--url-env AWS_SECRET_ACCESS_KEY` that piece was the AWS secret). `text()` masks all three;
`connection_error()` also removes every part of a known DSN from a driver message; `install()`
applies `text()` to every log record of the process.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

MASK = "***"

# scheme://userinfo@ — greedy to the last '@' of the token, so a password holding '@' or '/'
# is masked whole; a URL with '@' in its path only loses more than needed.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s'\"<>]*@")
_PASSWORD_KV = re.compile(
    r"(?i)\b(\w*password|passwd|pwd)([\"']?\s*[=:]\s*)('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;,'\"]+)")
# libpq's conninfo parser quotes what it could not parse: mask every quoted piece of such lines.
_LIBPQ_PARSE_LINE = re.compile(
    r"(?i)^.*(connection info string|in URI|URI query parameter|percent-encoded|connection option).*$",
    re.MULTILINE)
_QUOTED = re.compile(r"\"[^\"\n]*\"")
_URL_SCHEMES = {"postgresql", "postgres", "http", "https"}


# Variables whose values are secrets wherever they show up: cluster URLs (docs/operations.md "Clusters":
# DATABASE_URL and CP_CLUSTER_URL_*) and anything named like a password, secret or token.
_SECRET_ENV = re.compile(r"^(DATABASE_URL|CP_CLUSTER_URL_\w+|\w*(PASSWORD|SECRET|TOKEN)\w*)$", re.IGNORECASE)
_SECRET_MIN = 6  # shorter values ("true", "1") would mask ordinary words


def text(value: str, environ: Mapping[str, str] | None = None) -> str:
    """`value` with URL credentials, password key/values, quoted conninfo fragments and the values
    of secret environment variables (see `_SECRET_ENV`) masked."""
    if not value:
        return value
    for secret in _environment_secrets(os.environ if environ is None else environ):
        value = value.replace(secret, MASK)
    value = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", value)
    value = _PASSWORD_KV.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", value)
    return _LIBPQ_PARSE_LINE.sub(lambda m: _QUOTED.sub(f'"{MASK}"', m.group(0)), value)


def _environment_secrets(environ: Mapping[str, str]) -> list[str]:
    found: set[str] = set()
    for name, value in environ.items():
        if not value or not _SECRET_ENV.match(name):
            continue
        found.add(value)
        try:
            password = urlsplit(value).password
        except ValueError:
            password = None
        if password:
            found |= {password, unquote(password)}
    return sorted((s for s in found if len(s) >= _SECRET_MIN), key=len, reverse=True)


def connection_error(exc: BaseException, dsn: str | None) -> str:
    """The first line of a driver error with the DSN and each of its parts (user, password,
    host, database, options) removed, safe to log, store and show."""
    lines = str(exc).strip().splitlines()
    message = lines[0] if lines else type(exc).__name__
    for part in _dsn_parts(dsn or ""):
        edge_l = r"(?<![A-Za-z0-9])" if part[0].isalnum() else ""
        edge_r = r"(?![A-Za-z0-9])" if part[-1].isalnum() else ""
        message = re.sub(edge_l + re.escape(part) + edge_r, MASK, message)
    return text(message)


def _dsn_parts(dsn: str) -> list[str]:
    """Longest first, so the whole DSN goes before the pieces inside it."""
    if not dsn:
        return []
    parts = {dsn, *re.split(r"[\s:/@?&=,;'\"]+", dsn)}
    try:
        split = urlsplit(dsn)
        parts |= {split.username or "", split.password or "", split.hostname or "", split.path.lstrip("/")}
    except ValueError:  # not even URL-shaped: the raw fragments above are all there is
        pass
    parts |= {unquote(p) for p in parts}
    return sorted((p for p in parts if len(p) >= 2 and p.lower() not in _URL_SCHEMES), key=len, reverse=True)


class RedactingFilter(logging.Filter):
    """Masks credentials in a record's message, exception text and stack. Always lets it pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports that itself when formatting
            return True
        clean = text(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = text(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = text(record.stack_info)
        return True


_FILTER = RedactingFilter()
_installed = False


def install() -> None:
    """Redact every log record of this process from now on (worker, app and CLI call it at start).

    It works through the record factory rather than a filter on handlers, because a handler added
    later (Streamlit adds its own) would miss a handler filter, and a logger filter misses
    records that propagate from child loggers. httpx and httpcore log each request URL at INFO:
    they are set to WARNING."""
    global _installed  # noqa: PLW0603 - once per process
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _FILTER.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    _installed = True
