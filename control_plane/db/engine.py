"""Engine and session factory for the catalog database."""

from __future__ import annotations

import time

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from control_plane.db import privileged
from control_plane.db.connect_errors import connection_error, is_invalid_dsn, is_transient
from control_plane.errors import ConfigError


def make_engine(url: str, pool_size: int = 5) -> Engine:
    try:
        return create_engine(
            url,
            pool_size=pool_size,
            max_overflow=10,
            pool_pre_ping=True,
            # Catalog sessions work in UTC whatever the server's or the machine's zone (interval
            # arithmetic such as "archived_at + 90 days" must not shift by an hour across a DST
            # change), and resolve no name through a schema a tenant may write (db/privileged.py).
            connect_args={"application_name": "control_plane", "options": privileged.OPTIONS},
        )
    except (ArgumentError, ValueError):
        # SQLAlchemy's message quotes the URL, password included: say what is wrong without it.
        raise ConfigError("DATABASE_URL is not a valid PostgreSQL URL; use "
                          "postgresql://USER:PASSWORD@HOST:5432/DBNAME.") from None


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def wait_for_database(engine: Engine, timeout: float = 30.0, interval: float = 0.5) -> None:
    """Production databases may still be starting when the app does: retry what comes back by
    itself (refused, starting up, too many connections) until the deadline; fail at once with a
    ConfigError on what never will (unknown database or role, bad password, invalid URL). The
    retry machinery is loaded only when the first attempt fails: a database that is up (every CLI
    command) costs one query and no import (docs/cli.md "Command line")."""
    started = time.monotonic()
    try:
        try:
            _ping(engine)
            return
        except DBAPIError as exc:
            if not is_transient(exc):
                raise
        from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

        time.sleep(interval)
        left = max(timeout - (time.monotonic() - started), 0.0)
        for attempt in Retrying(stop=stop_after_delay(left), wait=wait_fixed(interval),
                                retry=retry_if_exception(is_transient), reraise=True):
            with attempt:
                _ping(engine)
    except DBAPIError as exc:
        # An unparsable URL's error quotes it, password included: do not chain that one.
        raise connection_error(exc, "the catalog database", "DATABASE_URL") from (
            None if is_invalid_dsn(exc) else exc)


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
