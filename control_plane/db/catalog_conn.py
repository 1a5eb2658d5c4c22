"""A catalog connection for read commands, without SQLAlchemy, pgserver or Alembic (docs/cli.md
"Command line"): taken only when the catalog can be reached as it is and is at head. Anything
else (no server running, a catalog behind the migration files, a connection that fails) answers
None, and the command takes the full bootstrap, which starts the server, waits for it, migrates
and reports errors as every other command does.
"""

from __future__ import annotations

import psycopg
from psycopg.conninfo import make_conninfo

from control_plane.config import Settings, libpq_url
from control_plane.db import embedded, migrate, privileged

_VERSIONS = "SELECT version_num FROM control_plane.alembic_version"


def catalog_conninfo(settings: Settings) -> str | None:
    """DATABASE_URL in libpq form, or the embedded server already running under the data
    directory; None when that server is not up (starting it is the bootstrap's job)."""
    if settings.database_url is not None:
        return libpq_url(settings.database_url)
    found = embedded.running_server(settings.data_dir)
    if found is None:
        return None
    socket_dir, port = found
    return make_conninfo(host=str(socket_dir), port=port, user="postgres", dbname=embedded.DATABASE_NAME)


def connect_current(settings: Settings) -> psycopg.Connection | None:
    """An autocommit connection to a catalog whose Alembic version is the head of the migration
    files (migrate.head_revisions, read from the files), else None."""
    conninfo = catalog_conninfo(settings)
    if conninfo is None:
        return None
    try:
        # UTC and the pinned search_path, as the engine's sessions (db/privileged.py): the same
        # command answers the same times whichever path it takes, whatever the server's own zone.
        conn = psycopg.connect(privileged.privileged_conninfo(conninfo), autocommit=True,
                               application_name="control_plane")
    except psycopg.Error:
        return None
    try:
        stored = frozenset(row[0] for row in conn.execute(_VERSIONS))
    except psycopg.Error:  # no version table yet: a new catalog
        stored = frozenset()
    if stored != migrate.head_revisions():
        conn.close()
        return None
    return conn
