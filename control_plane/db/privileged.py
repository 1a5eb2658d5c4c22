"""How every connection that holds catalog or cluster-admin credentials starts (docs/security.md
"The database is a trust boundary").

Tenants can run SQL. Where PUBLIC may create in `public` (PostgreSQL 14 and older, or kept by
pg_upgrade), a tenant can plant `public.hashtextextended(text, integer)` or an operator
`public.||(text, name)`: a privileged session whose search_path includes `public` would pick the
planted one over pg_catalog's whenever its argument types match better, and run it with our
rights (CVE-2018-1058). So these sessions search nothing but pg_catalog, and pg_temp last, where
PostgreSQL never looks for functions or operators. It is set in the startup packet (libpq
`options`), so it holds before our first statement and for every tool we start (pg_dump,
pg_restore, psql), and our SQL names every table by its schema.
"""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from control_plane.config import libpq_url

SEARCH_PATH = "pg_catalog,pg_temp"  # as current_setting shows it
# The session settings of every privileged connection, in libpq `options` form.
OPTIONS = f"-c search_path={SEARCH_PATH} -c TimeZone=UTC"


def privileged_conninfo(url: str) -> str:
    """`url` (SQLAlchemy or libpq form) as a libpq conninfo whose sessions start with the pinned
    search_path. Options the URL carries already are kept; ours come last, so they win."""
    params = conninfo_to_dict(libpq_url(url))
    own = str(params.get("options") or "").strip()
    params["options"] = f"{own} {OPTIONS}".strip()
    return make_conninfo(**{k: str(v) for k, v in params.items()})
