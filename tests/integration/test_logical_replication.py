"""Logical replication between the two test servers (docs/operations.md "Moving a tenant"): the ground the
online move stands on. A publication FOR TABLES IN SCHEMA on `pg_server`, a subscription with the
initial copy on `cluster_b` (`pg_server_b`), rows arriving, and the clean-up that lets both
databases be dropped afterwards: disable, detach from the slot, drop, drop the slot and publication.
"""

from __future__ import annotations

import os
import uuid

import psycopg
from psycopg import sql

from control_plane.config import libpq_url
from control_plane.db import embedded
from control_plane.db.models import Cluster
from tests.conftest import CLUSTER_B_URL_ENV
from tests.polling import wait_for


def test_both_test_servers_run_with_logical_replication(pg_server, pg_server_b):
    assert pg_server_b.socket_dir != pg_server.socket_dir
    for server in (pg_server, pg_server_b):
        with psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres",
                             dbname="postgres") as conn:
            assert conn.execute("SHOW wal_level").fetchone()[0] == "logical"
            assert embedded.missing_logical_settings(conn) == {}
            assert int(conn.execute("SHOW server_version_num").fetchone()[0]) >= 150000


def test_a_schema_replicates_from_pg_server_to_cluster_b(ctx, database_url, cluster_b):
    assert os.environ[CLUSTER_B_URL_ENV] == cluster_b
    with ctx.session_factory() as session:
        registered = session.get(Cluster, "b")
        assert registered.url_env == CLUSTER_B_URL_ENV and not registered.accepts_tenants
    run = uuid.uuid4().hex[:8]
    schema, publication, subscription = f"repl_{run}", f"cp_pub_{run}", f"cp_sub_{run}"
    table = sql.Identifier(schema, "items")
    ddl = sql.SQL("CREATE SCHEMA {s}; CREATE TABLE {t} (id bigint PRIMARY KEY, body text NOT NULL)").format(
        s=sql.Identifier(schema), t=table)
    source_url = libpq_url(database_url)
    with psycopg.connect(source_url, autocommit=True) as source, \
            psycopg.connect(ctx.clusters.url_for(CLUSTER_B_URL_ENV), autocommit=True) as target:
        source.execute(ddl)
        source.execute(sql.SQL("INSERT INTO {t} SELECT g, 'before ' || g FROM generate_series(1, 100) g")
                       .format(t=table))
        source.execute(sql.SQL("CREATE PUBLICATION {p} FOR TABLES IN SCHEMA {s}").format(
            p=sql.Identifier(publication), s=sql.Identifier(schema)))
        target.execute(ddl)
        try:
            target.execute(sql.SQL("CREATE SUBSCRIPTION {n} CONNECTION {c} PUBLICATION {p} WITH (copy_data = true)")
                           .format(n=sql.Identifier(subscription), c=sql.Literal(source_url),
                                   p=sql.Identifier(publication)))
            sub_oid = target.execute("SELECT oid FROM pg_subscription WHERE subname = %s",
                                     (subscription,)).fetchone()[0]
            count = sql.SQL("SELECT count(*) FROM {t}").format(t=table)
            wait_for("the initial copy", lambda: target.execute(count).fetchone()[0] == 100, seconds=30)
            source.execute(sql.SQL("INSERT INTO {t} VALUES (101, 'after the copy')").format(t=table))
            source.execute(sql.SQL("UPDATE {t} SET body = 'changed' WHERE id = 1").format(t=table))
            wait_for("a row committed after the copy", lambda: target.execute(count).fetchone()[0] == 101, seconds=30)
            wait_for("an update", lambda: target.execute(sql.SQL("SELECT body FROM {t} WHERE id = 1").format(t=table))
                      .fetchone()[0] == "changed", seconds=30)
        finally:
            _drop_subscription(target, source, subscription)
            source.execute(sql.SQL("DROP PUBLICATION IF EXISTS {p}").format(p=sql.Identifier(publication)))
            for conn in (source, target):
                conn.execute(sql.SQL("DROP SCHEMA {s} CASCADE").format(s=sql.Identifier(schema)))
        # nothing left that would keep WAL on the source or stop a database from being dropped
        assert source.execute("SELECT slot_name FROM pg_replication_slots WHERE slot_name = %s OR slot_name LIKE %s",
                              (subscription, f"pg\\_{sub_oid}\\_sync\\_%")).fetchall() == []
        assert target.execute("SELECT 1 FROM pg_subscription WHERE subname = %s", (subscription,)).fetchall() == []


def _drop_subscription(target: psycopg.Connection, source: psycopg.Connection, name: str) -> None:
    """The clean-up order: a subscription detached from its slot can be dropped
    even when the source is gone; its slot is then dropped on the source once its walsender has
    let go of it."""
    if target.execute("SELECT 1 FROM pg_subscription WHERE subname = %s", (name,)).fetchone() is None:
        return
    ident = sql.Identifier(name)
    target.execute(sql.SQL("ALTER SUBSCRIPTION {n} DISABLE").format(n=ident))
    target.execute(sql.SQL("ALTER SUBSCRIPTION {n} SET (slot_name = NONE)").format(n=ident))
    target.execute(sql.SQL("DROP SUBSCRIPTION {n}").format(n=ident))
    active = "SELECT active FROM pg_replication_slots WHERE slot_name = %s"
    wait_for("the slot's walsender to stop",
             lambda: not (source.execute(active, (name,)).fetchone() or [False])[0], seconds=30)
    if source.execute(active, (name,)).fetchone() is not None:
        source.execute("SELECT pg_drop_replication_slot(%s)", (name,))
