"""Engine and session factory for the catalog database."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from control_plane.errors import DatabaseUnavailable


def make_engine(url: str, pool_size: int = 5) -> Engine:
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"application_name": "control_plane"},
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def wait_for_database(engine: Engine, timeout: float = 30.0) -> None:
    """Production databases may still be starting when the app does: retry with a deadline."""
    try:
        for attempt in Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(0.5),
                                retry=retry_if_exception_type(OperationalError), reraise=True):
            with attempt, engine.connect() as conn:
                conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(f"Cannot reach the catalog database: {reason}") from exc
