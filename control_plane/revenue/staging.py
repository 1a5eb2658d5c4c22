"""The staging table of `billing import`: rows are COPYed here as the file is read (a 50 MB file
never sits in memory), checked as a whole in SQL (duplicate tenant and date), then upserted into
the ledger by ledger.upsert_staged. All inside the import's transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from control_plane.revenue.ledger import SubscriptionState

STAGE = "_staged_changes"


def create(session: Session) -> None:
    session.execute(text(
        f"CREATE TEMP TABLE {STAGE} (line int NOT NULL, tenant text, effective_date date, plan text, "
        "interval text, price numeric(18, 6), seats integer, discount_percent numeric(7, 4), status text) "
        "ON COMMIT DROP"))


def copy(session: Session, rows: Iterable[tuple[int, SubscriptionState]]) -> None:
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cur, cur.copy(
            f"COPY {STAGE} (line, tenant, effective_date, plan, interval, price, seats, discount_percent, status) "
            "FROM STDIN") as stream:
        for line, s in rows:
            stream.write_row((line, s.tenant, s.effective_date, s.plan, s.interval, s.price, s.seats,
                              s.discount_percent, s.status))


def duplicates(session: Session, limit: int) -> tuple[int, list[tuple[int, str, str, int]]]:
    """How many staged rows repeat an earlier row's (tenant, effective_date), and the first
    `limit` of them as (line, tenant, date, line of the first)."""
    session.execute(text(f"ANALYZE {STAGE}"))  # temp tables get no autovacuum statistics
    found = session.execute(text(f"""
        SELECT d.line, d.tenant, d.effective_date, d.first, count(*) OVER () FROM (
            SELECT line, tenant, effective_date,
                   min(line) OVER (PARTITION BY tenant, effective_date) AS first FROM {STAGE}) d
         WHERE d.line <> d.first ORDER BY d.line LIMIT :limit"""), {"limit": limit}).all()
    return (int(found[0][4]) if found else 0), [(int(r[0]), r[1], str(r[2]), int(r[3])) for r in found]


def totals(session: Session) -> tuple[int, int, tuple[str, ...]]:
    """(rows, tenants, plans not in the catalog) of the staged rows."""
    rows, tenants = session.execute(text(f"SELECT count(*), count(DISTINCT tenant) FROM {STAGE}")).one()
    unknown = tuple(session.execute(text(
        f"SELECT DISTINCT s.plan FROM {STAGE} s "
        "WHERE NOT EXISTS (SELECT 1 FROM control_plane.plans p WHERE p.code = s.plan) ORDER BY 1")).scalars())
    return int(rows), int(tenants), unknown
