"""ClusterConnections' pools follow the cluster variables as they are now (docs/operations.md
"Clusters": URLs live in environment variables): a pool opened for CP_CLUSTER_URL_X is never
reused once X names another database."""

from __future__ import annotations

import psycopg

from control_plane.adapters.clusters import ClusterConnections, libpq_url
from control_plane.adapters.tenant_ddl import data_plane_login
from tests.conftest import create_database

URL_ENV = "CP_CLUSTER_URL_MOVING"


def test_pools_follow_the_variable_not_its_name(pg_server, database_url, new_slug):
    first, second = (create_database(pg_server, "cp_moving") for _ in range(2))
    environ = {URL_ENV: libpq_url(pg_server.url(first))}
    connections = ClusterConnections(database_url, environ)
    try:
        with connections.ddl_connection(URL_ENV) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == first
        slug = new_slug("mv")
        with connections.pool(URL_ENV, slug).connection() as conn:
            assert conn.execute("SELECT current_database(), current_user").fetchone() == (first, data_plane_login(slug))
        environ[URL_ENV] = libpq_url(pg_server.url(second))
        with connections.ddl_connection(URL_ENV) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == second
        with connections.pool(URL_ENV, slug).connection() as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == second
    finally:
        connections.close()
    for name in (first, second):
        with psycopg.connect(libpq_url(pg_server.url("postgres")), autocommit=True) as admin:
            # FORCE: psycopg_pool resets a returned connection on a worker, and a pool closed meanwhile
            # may leave that one connected until it is collected.
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
