"""Which failures to reach a database are worth waiting for, and one clear error for each kind.

A server that is starting, restarting, refusing connections or full comes back by itself, so
waiting makes sense. A wrong database name, user or password, a pg_hba.conf rejection or a
malformed URL never fixes itself: waiting 30 s for it only hides the cause. libpq reports
connection failures without a SQLSTATE, so the server's message is what we can classify.
"""

from __future__ import annotations

import re

import psycopg
from sqlalchemy.exc import DBAPIError

from control_plane.errors import ControlPlaneError, DatabaseRefused, DatabaseUnavailable

# Fragments of libpq / server messages (lower case) that mean "the configuration is wrong".
_PERMANENT = (
    re.compile(r'database "[^"]*" does not exist'),
    re.compile(r'role "[^"]*" does not exist'),
    re.compile(r"authentication failed"),  # password, scram, ident, peer, ldap, …
    re.compile(r"no pg_hba\.conf entry"),
    re.compile(r"pg_hba\.conf rejects"),
    re.compile(r"no password supplied|password is required"),
    re.compile(r"is not permitted to log in"),
    re.compile(r"permission denied for database"),
    re.compile(r"ssl was required|server does not support ssl"),
)
# libpq rejecting a parameter of the URL quotes its value, which may be a secret: name the kind only.
_URL_SYNTAX = re.compile(r"invalid [a-z_ ]*?(connection option|port|value)|missing \"=\"|unterminated quoted string")
_PREFIXES = ("connection failed:", "connection is bad:")
# SQLSTATEs of an established connection that the server ended (shutdown, crash, restart).
_LOST_STATES = ("08", "57P")


def _driver_error(exc: BaseException) -> BaseException:
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


def is_invalid_dsn(exc: BaseException) -> bool:
    """psycopg reports a URL it cannot parse as ProgrammingError, quoting the URL (password
    included); libpq rejects some parameters later, quoting their value."""
    driver = _driver_error(exc)
    return isinstance(driver, psycopg.ProgrammingError) or bool(_URL_SYNTAX.search(str(driver).lower()))


def is_permanent(exc: BaseException) -> bool:
    if is_invalid_dsn(exc):
        return True
    message = str(_driver_error(exc)).lower()
    return any(pattern.search(message) for pattern in _PERMANENT)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: a connection-level OperationalError that is not a configuration mistake."""
    driver = _driver_error(exc)
    return isinstance(driver, psycopg.OperationalError) and not is_permanent(driver)


def is_connection_lost(exc: BaseException, conn: psycopg.Connection | None = None) -> bool:
    """An OperationalError that means the server went away (not a query cancel or lock timeout)."""
    driver = _driver_error(exc)
    if not isinstance(driver, psycopg.OperationalError):
        return False
    if conn is not None and conn.broken:
        return True
    state = driver.sqlstate
    return state is None or state.startswith(_LOST_STATES)


def reason(exc: BaseException) -> str:
    """The server's one-line reason, never the connection URL (which may carry a password)."""
    if is_invalid_dsn(exc):
        found = _URL_SYNTAX.search(str(_driver_error(exc)).lower())
        return "the connection URL is not a valid PostgreSQL URL" + (f" ({found.group(0)})" if found else "")
    text = str(_driver_error(exc)).strip()
    lines = text.splitlines()
    line = lines[0] if lines else type(exc).__name__
    for prefix in _PREFIXES:
        if line.startswith(prefix):
            line = line[len(prefix):]
    return " ".join(line.split())[:300]


def connection_error(exc: BaseException, what: str, setting: str) -> ControlPlaneError:
    """DatabaseRefused (a ConfigError, exit 6) for a mistake in `setting`; DatabaseUnavailable (exit 7) otherwise."""
    if is_permanent(exc):
        return DatabaseRefused(f"Cannot connect to {what}: {reason(exc)}. Retrying will not help: check {setting} "
                           "(host, database name, user, password) and the server's pg_hba.conf.")
    return DatabaseUnavailable(f"Cannot reach {what}: {reason(exc)}")
