"""The staging table of `uptime import`: checks are COPYed here row by row as the file is read
(so a 50 MB file never sits in memory), checked as a whole in SQL (duplicates, span), then moved
into raw checks. All of it inside the import's transaction: a rejected file leaves nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from control_plane.uptime import raw

STAGE = "_incoming_checks"
# A check as staged: file line, target, checked_at, ok, latency in hundredths of a millisecond.
StagedCheck = tuple[int, str, datetime, bool, int | None]


@dataclass(frozen=True)
class Staged:
    rows: int
    first: datetime | None
    last: datetime | None
    targets: list[str]


def create(session: Session) -> None:
    session.execute(text(f"CREATE TEMP TABLE {STAGE} (line int NOT NULL, target text NOT NULL, "
                         "checked_at timestamptz NOT NULL, ok boolean NOT NULL, latency_cms int) ON COMMIT DROP"))


def copy(session: Session, checks: Iterable[StagedCheck]) -> None:
    """COPY `checks` into the staging table as they come (psycopg sends in bounded chunks)."""
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cur, cur.copy(
            f"COPY {STAGE} (line, target, checked_at, ok, latency_cms) FROM STDIN") as stream:
        for check in checks:
            stream.write_row(check)


def duplicates(session: Session, limit: int) -> tuple[int, list[tuple[int, int]]]:
    """How many staged rows repeat an earlier row's (target, checked_at), and the first `limit`
    of them as (line, line of the first)."""
    session.execute(text(f"ANALYZE {STAGE}"))  # temp tables get no autovacuum statistics
    found = session.execute(text(f"""
        SELECT d.line, d.first, count(*) OVER () FROM (
            SELECT line, min(line) OVER (PARTITION BY target, checked_at) AS first FROM {STAGE}) d
         WHERE d.line <> d.first ORDER BY d.line LIMIT :limit"""), {"limit": limit}).all()
    return (int(found[0][2]) if found else 0), [(int(line), int(first)) for line, first, _ in found]


def summary(session: Session) -> Staged:
    rows, first, last = session.execute(text(f"SELECT count(*), min(checked_at), max(checked_at) FROM {STAGE}")).one()
    names = list(session.execute(text(f"SELECT DISTINCT target FROM {STAGE} ORDER BY 1")).scalars())
    return Staged(int(rows), first, last, names)


def move_to_raw(session: Session) -> int:
    """Replace stored checks with the staged ones (same target and instant: replaced, wherever
    they are stored), then append every staged check. Targets must be registered. Returns how
    many stored checks were replaced."""
    raw.lock(session)
    staged = f"{STAGE} i JOIN {raw.TARGETS} t ON t.name = i.target"
    raw.thaw(session, f"(h.target_id, h.hour_start) IN (SELECT DISTINCT t.id, date_trunc('hour', i.checked_at, "
                      f"'UTC') FROM {staged})")
    replaced = session.execute(text(
        f"DELETE FROM {raw.RECENT} r USING {staged} WHERE r.target_id = t.id AND r.checked_at = i.checked_at")).rowcount
    session.execute(text(f"INSERT INTO {raw.RECENT} (target_id, checked_at, ok, latency_cms, error) "
                         f"SELECT t.id, i.checked_at, i.ok, i.latency_cms, NULL FROM {staged}"))
    return int(replaced)
