"""Raw checks, stored in two forms (migration 0006 says why):

- `recent_checks`: one narrow row per check. The sweep appends here; it holds the last hour or
  two, so its size stays the same from day to day.
- `check_hours`: one row per target and UTC hour, the hour's checks as parallel arrays. The
  roll-up job moves every hour that ended more than COMPACT_LAG ago into this form.

Readers never care which form a check is in: `source()` gives the SQL of every raw check in a
time range from both. Anything that rewrites raw checks (compaction, imports, pruning, demo
seeding) takes the UPTIME_RAW advisory lock first (`lock`), so two writers never compact the same hour twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from control_plane.db import advisory_locks
from control_plane.uptime.figures import rounded_decimal

log = logging.getLogger(__name__)
RECENT = "control_plane.recent_checks"
HOURS = "control_plane.check_hours"
TARGETS = "control_plane.check_targets"
COMPACT_LAG = timedelta(hours=1)  # the sweep's and on-call's reads of the last hour stay on narrow rows
NO_START = "'-infinity'::timestamptz"
NO_END = "'infinity'::timestamptz"


@dataclass(frozen=True)
class CheckRow:
    """One check result, as the sweep and the importer write it."""

    target: str
    tenant_slug: str | None
    kind: str
    checked_at: datetime
    ok: bool
    latency_ms: Decimal | float | None
    error: str | None = None


# One total order for all arrays of an hour row: ties (same instant) stay aligned element by element.
ORDER = "ORDER BY c.checked_at, c.ok, c.latency_cms, c.error"


def lock(session: Session) -> None:
    advisory_locks.xact_lock(session, advisory_locks.UPTIME_RAW)


def to_cms(latency_ms: Decimal | float | None) -> int | None:
    """Milliseconds as whole hundredths of a millisecond, rounded half-up on the exact decimal
    (docs/uptime.md "Rounding")."""
    return None if latency_ms is None else int(rounded_decimal(Decimal(str(latency_ms)), 2).scaleb(2))


def source(start: str, end: str, *, target: str | None = None, failed_only: bool = False,
           with_names: bool = True) -> str:
    """A parenthesised SELECT of every raw check with start <= checked_at < end, columns
    target_id, checked_at, ok, latency_cms (int, hundredths), latency_ms (numeric, 2 decimals),
    error, and with `with_names`
    also target and tenant_slug. `start`/`end` are SQL expressions (bind parameters or outer
    columns), `target` a condition on target_id such as "= t.id" or "= ANY(:ids)". Inside a
    correlated subquery ask for no names (the join would be planned per outer row): the outer
    query has them."""
    start, end = f"CAST({start} AS timestamptz)", f"CAST({end} AS timestamptz)"
    recent = f" AND r.target_id {target}" if target else ""
    hours = f" AND h.target_id {target}" if target else ""
    unnested = ""
    if failed_only:
        recent += " AND NOT r.ok"
        hours += " AND h.failures > 0"
        unnested = " AND NOT u.ok"
    # unnest() in the select list runs the arrays in lockstep (a NULL `errors` pads with NULLs) and
    # is ~3x faster than unnest(a, b, c, d) in FROM, which materialises each array first.
    checks = f"""
        SELECT r.target_id, r.checked_at, r.ok, r.latency_cms, r.error FROM {RECENT} r
         WHERE r.checked_at >= {start} AND r.checked_at < {end}{recent}
        UNION ALL
        SELECT u.target_id, u.checked_at, u.ok, u.latency_cms, u.error
          FROM (SELECT h.target_id, unnest(h.checked_at) AS checked_at, unnest(h.ok) AS ok,
                       unnest(h.latency_cms) AS latency_cms, unnest(h.errors) AS error
                  FROM {HOURS} h
                 WHERE h.hour_start > {start} - interval '1 hour' AND h.hour_start < {end}{hours}) u
         WHERE u.checked_at >= {start} AND u.checked_at < {end}{unnested}"""
    latency = "s.latency_cms, (s.latency_cms / 100.0)::numeric(10, 2) AS latency_ms"
    if not with_names:
        return f"(SELECT s.target_id, s.checked_at, s.ok, {latency}, s.error FROM ({checks}) s)"
    return f"""(
        SELECT s.target_id, t.name AS target, t.tenant_slug, s.checked_at, s.ok, {latency}, s.error
          FROM ({checks}) s JOIN {TARGETS} t ON t.id = s.target_id)"""


def failing(start: str, end: str, *, target: str | None = None) -> str:
    """A parenthesised SELECT of the target_id of every target with a failed check in
    [start, end). Hour rows wholly inside the window answer from their failure count alone."""
    start, end = f"CAST({start} AS timestamptz)", f"CAST({end} AS timestamptz)"
    recent = f" AND r.target_id {target}" if target else ""
    hours = f" AND h.target_id {target}" if target else ""
    return f"""(
        SELECT r.target_id FROM {RECENT} r WHERE NOT r.ok AND r.checked_at >= {start} AND r.checked_at < {end}{recent}
        UNION
        SELECT h.target_id FROM {HOURS} h
         WHERE h.failures > 0 AND h.hour_start > {start} - interval '1 hour' AND h.hour_start < {end}{hours}
           AND ((h.hour_start >= {start} AND h.hour_start + interval '1 hour' <= {end})
                OR EXISTS (SELECT 1 FROM (SELECT unnest(h.checked_at) AS checked_at, unnest(h.ok) AS ok) u
                            WHERE NOT u.ok AND u.checked_at >= {start} AND u.checked_at < {end})))"""


def ids_of(param: str) -> str:
    """A target condition for source(): target_id of the names in the text[] bind `param`."""
    return f"= ANY(ARRAY(SELECT id FROM {TARGETS} WHERE name = ANY(:{param})))"


def nearest_ok(target_id: str, after: str, before: str, keep: str, *, last: bool) -> str:
    """SQL scalar: the first (or, with last=True, the latest) ok check of one target strictly
    between `after` and `before` for which the condition `keep` holds (written against an alias
    `o` with column checked_at). Hour rows are walked in time order and the walk stops at the
    first that has one, so a lookup costs an hour row or two, not the whole history."""
    agg, direction, pick = ("max", "DESC", "GREATEST") if last else ("min", "", "LEAST")
    after, before = f"CAST({after} AS timestamptz)", f"CAST({before} AS timestamptz)"
    return f"""{pick}(
        (SELECT {agg}(o.checked_at) FROM {RECENT} o
          WHERE o.target_id = {target_id} AND o.ok AND o.checked_at > {after} AND o.checked_at < {before}
            AND {keep}),
        (SELECT x.at FROM (
             SELECT (SELECT {agg}(o.checked_at)
                       FROM (SELECT unnest(h.checked_at) AS checked_at, unnest(h.ok) AS ok) o
                      WHERE o.ok AND o.checked_at > {after} AND o.checked_at < {before} AND {keep}) AS at
               FROM {HOURS} h
              WHERE h.target_id = {target_id} AND h.hour_start > {after} - interval '1 hour'
                AND h.hour_start < {before}
              ORDER BY h.hour_start {direction} OFFSET 0) x
          WHERE x.at IS NOT NULL LIMIT 1))"""


def target_ids(session: Session, rows: Iterable[CheckRow]) -> dict[str, int]:
    """Ids of the rows' targets, registering new ones. A target learns its tenant when a row
    names one (an import made before the tenant existed, then the sweep)."""
    known: dict[str, tuple[str | None, str]] = {}
    for r in rows:
        tenant, kind = known.get(r.target, (None, r.kind))
        known[r.target] = (tenant or r.tenant_slug, kind)
    if not known:
        return {}
    params = {"names": list(known), "tenants": [t for t, _ in known.values()], "kinds": [k for _, k in known.values()]}
    # Only names not seen yet reach the INSERT: ON CONFLICT alone would draw an id from the
    # sequence for every row of every sweep and run int4 out within a year or two.
    session.execute(text(f"""
        INSERT INTO {TARGETS} (name, tenant_slug, kind)
        SELECT u.* FROM unnest(CAST(:names AS text[]), CAST(:tenants AS text[]), CAST(:kinds AS text[]))
                        AS u(name, tenant, kind)
         WHERE NOT EXISTS (SELECT 1 FROM {TARGETS} t WHERE t.name = u.name)
         ORDER BY 1
        ON CONFLICT (name) DO NOTHING"""), params)
    session.execute(text(f"""
        UPDATE {TARGETS} t SET tenant_slug = u.tenant
          FROM unnest(CAST(:names AS text[]), CAST(:tenants AS text[])) AS u(name, tenant)
         WHERE t.name = u.name AND u.tenant IS NOT NULL AND t.tenant_slug IS DISTINCT FROM u.tenant"""), params)
    return dict(session.execute(text(f"SELECT name, id FROM {TARGETS} WHERE name = ANY(:names)"),
                                {"names": params["names"]}).all())


def append(session: Session, rows: Sequence[CheckRow], ids: dict[str, int] | None = None) -> int:
    """COPY checks into recent_checks inside the session's transaction."""
    if not rows:
        return 0
    ids = ids if ids is not None else target_ids(session, rows)
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cur, cur.copy(
            f"COPY {RECENT} (target_id, checked_at, ok, latency_cms, error) FROM STDIN") as copy:
        for r in rows:
            copy.write_row((ids[r.target], r.checked_at, r.ok, to_cms(r.latency_ms), r.error))
    return len(rows)


def thaw(session: Session, where: str, params: dict[str, Any] | None = None) -> int:
    """Move the hour rows matching `where` (SQL on alias h) back into recent_checks, so their
    checks can be edited or merged with newer ones; the next compaction folds them again."""
    return session.execute(text(f"""
        WITH moved AS (DELETE FROM {HOURS} h WHERE {where} RETURNING h.*)
        INSERT INTO {RECENT} (target_id, checked_at, ok, latency_cms, error)
        SELECT m.target_id, u.checked_at, u.ok, u.latency_cms, u.error
          FROM moved m,
               unnest(m.checked_at, m.ok, m.latency_cms, m.errors) AS u(checked_at, ok, latency_cms, error)"""),
        params or {}).rowcount


def compact(session: Session, before: datetime) -> tuple[int, int]:
    """Fold every recent check before `before` (an hour boundary) into hour rows; an hour that
    already has a row (a late check, an import) is merged with it. Returns (checks, hour rows)."""
    lock(session)
    params = {"before": before}
    thaw(session, f"""(h.target_id, h.hour_start) IN (
        SELECT DISTINCT r.target_id, date_trunc('hour', r.checked_at, 'UTC') FROM {RECENT} r
         WHERE r.checked_at < :before)""", params)
    folded = session.execute(text(f"""
        WITH c AS (DELETE FROM {RECENT} WHERE checked_at < :before RETURNING *),
        hours AS (
            INSERT INTO {HOURS} (target_id, hour_start, failures, checked_at, ok, latency_cms, errors)
            SELECT c.target_id, date_trunc('hour', c.checked_at, 'UTC'), count(*) FILTER (WHERE NOT c.ok),
                   array_agg(c.checked_at {ORDER}), array_agg(c.ok {ORDER}), array_agg(c.latency_cms {ORDER}),
                   CASE WHEN count(c.error) > 0 THEN array_agg(c.error {ORDER}) END
              FROM c GROUP BY 1, 2
            RETURNING cardinality(checked_at) AS checks)
        SELECT COALESCE(sum(checks), 0), count(*) FROM hours"""), params).one()
    return int(folded[0]), int(folded[1])


def delete_range(session: Session, start: datetime | None, end: datetime) -> int:
    """Delete every raw check in [start, end) (start None: everything before `end`)."""
    lock(session)
    params = {"a": start, "b": end}
    lower = "CAST(:a AS timestamptz)" if start is not None else NO_START
    # hour rows only partly inside the range are thawed, then the range is cut out of recent_checks
    thaw(session, f"h.hour_start > {lower} - interval '1 hour' AND h.hour_start < :b "
                  f"AND NOT (h.hour_start >= {lower} AND h.hour_start + interval '1 hour' <= :b)", params)
    gone = session.execute(text(
        f"SELECT COALESCE(sum(cardinality(checked_at)), 0) FROM {HOURS} "
        f"WHERE hour_start >= {lower} AND hour_start + interval '1 hour' <= :b"), params).scalar_one()
    session.execute(text(f"DELETE FROM {HOURS} WHERE hour_start >= {lower} AND hour_start + interval '1 hour' <= :b"),
                    params)
    gone += session.execute(text(f"DELETE FROM {RECENT} WHERE checked_at >= {lower} AND checked_at < :b"),
                            params).rowcount
    return int(gone)


def delete_targets(session: Session, names: list[str]) -> None:
    """Forget every raw check of these targets (the demo seeder starts over)."""
    lock(session)
    params = {"names": names}
    for table in (RECENT, HOURS):
        session.execute(text(f"DELETE FROM {table} WHERE target_id {ids_of('names')}"), params)


def vacuum_recent(engine: Engine) -> bool:
    """VACUUM recent_checks right after a compaction emptied its old hours, so the next hours'
    rows reuse that space and the table stays the size of an hour or two whatever autovacuum's
    timing. False when not allowed (autovacuum still gets there)."""
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {RECENT}")
    except DBAPIError as exc:
        log.warning("VACUUM %s failed: %s", RECENT, exc.orig)
        return False
    return True


def earliest(session: Session) -> datetime | None:
    return session.execute(text(
        f"SELECT LEAST((SELECT min(checked_at) FROM {RECENT}), (SELECT min(hour_start) FROM {HOURS}))")).scalar()
