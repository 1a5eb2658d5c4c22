"""The CLI's fast read path answers times in UTC, as the full bootstrap's sessions do, whatever the
catalog server's own zone (found by the suite run with the clock at the end of daylight saving time
in New York: `tenants show` printed -04:00 on one path and +00:00 on the other)."""

from __future__ import annotations

import psycopg

from control_plane.config import Settings, libpq_url
from control_plane.db import catalog_conn


def test_the_fast_path_reads_in_utc_on_a_server_in_another_zone(database_url):
    url = libpq_url(database_url)
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("ALTER DATABASE {} SET TimeZone = 'America/New_York'").format(
            psycopg.sql.Identifier(name)))
    try:
        with psycopg.connect(url) as plain:
            assert plain.execute("SHOW TimeZone").fetchone()[0] == "America/New_York"
        conn = catalog_conn.connect_current(Settings.from_env({"DATABASE_URL": database_url}))
        assert conn is not None
        with conn:
            assert conn.execute("SHOW TimeZone").fetchone()[0] == "UTC"
            assert conn.execute("SELECT to_char(now(), 'OF')").fetchone()[0] == "+00"
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(psycopg.sql.SQL("ALTER DATABASE {} RESET TimeZone").format(psycopg.sql.Identifier(name)))
