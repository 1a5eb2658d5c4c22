"""Whether some session holds a session-level advisory lock, read from pg_locks. A bigint key
shows there as classid (high 32 bits) and objid (low 32 bits) with objsubid 1; `<<` on bigint
wraps, so the pair puts back the signed key that hashtextextended gave."""

from __future__ import annotations

import psycopg

_HELD = """
SELECT EXISTS (
    SELECT 1 FROM pg_catalog.pg_locks
     WHERE locktype = 'advisory' AND granted AND objsubid = 1
       AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
       AND ((classid::bigint << 32) | objid::bigint) = pg_catalog.hashtextextended(%s::text, 0::bigint))
"""


def text_key_held(conn: psycopg.Connection, key: str) -> bool:
    """True while any session of this database holds the lock taken with
    pg_(try_)advisory_lock(hashtextextended(key, 0))."""
    row = conn.execute(_HELD, (key,)).fetchone()
    return bool(row and row[0])
