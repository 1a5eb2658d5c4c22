"""A source cluster without logical replication (wal_level = replica): the online move is refused
with what is missing, named per cluster, before anything changes; `--offline` moves the tenant
(docs/moves.md "Online or offline")."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from control_plane.config import libpq_url
from control_plane.db import embedded
from control_plane.db.models import Cluster, TenantMove
from control_plane.errors import Conflict
from control_plane.moves import preflight, service
from control_plane.moves.service import MoveOptions
from tests.factories import OPERATOR
from tests.integration.move_helpers import contents, fill, schema_of
from tests.integration.test_tenant_move_faults import cluster_of, writable

PLAIN_ENV = "CP_CLUSTER_URL_PLAIN"


@pytest.fixture(scope="module")
def replica_server(pg_server) -> Iterator[embedded.EmbeddedServer]:
    """A third server whose wal_level is `replica`, PostgreSQL's default."""
    data_dir = Path(tempfile.mkdtemp(prefix="cp-test-pg-plain-"))
    server = embedded.start(data_dir, engine=pg_server.engine)  # same engine and OS user: sockets reachable
    with psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET wal_level = replica")
        conn.execute("CREATE DATABASE plain")
    embedded.harden_database(server, "plain")  # passes `clusters check`: provisioning there is allowed
    embedded._restart(server, embedded.pgdata_of(data_dir))
    yield server
    server.stop()


@pytest.fixture
def plain(ctx, replica_server, monkeypatch) -> str:
    url = libpq_url(replica_server.url("plain"))
    monkeypatch.setenv(PLAIN_ENV, url)
    with ctx.session_factory() as session:
        session.add(Cluster(name="plain", url_env=PLAIN_ENV, accepts_tenants=False))
        session.commit()
    return url


def test_online_refused_with_what_is_missing_then_offline_moves(ctx, admin, plain, new_slug):
    from control_plane.services import tenants

    slug = new_slug("mn")
    tenants.provision(ctx, OPERATOR, slug, "Plain Ltd", "team", cluster="plain")
    fill(ctx.clusters, PLAIN_ENV, slug, users=10)
    before = contents(ctx.clusters, PLAIN_ENV, schema_of(slug))
    readiness = service.readiness(ctx, admin, slug, "default")
    assert not readiness.online
    assert "source cluster plain: wal_level is replica (set wal_level = logical and restart)" in readiness.explanation
    with pytest.raises(Conflict, match=r"wal_level is replica.*Add --offline"):
        service.request(ctx, admin, slug, "default")
    with ctx.session_factory() as session:  # refused before anything was recorded or made
        assert session.query(TenantMove).filter_by(tenant_slug=slug).count() == 0
    moved = service.start(ctx, admin, slug, "default", MoveOptions(offline=True, poll_s=0.02))
    assert moved.status == "completed" and moved.mode == "offline"
    assert cluster_of(ctx, slug) == "default"
    assert contents(ctx.clusters, None, schema_of(slug)) == before
    writable(ctx, None, slug)
    # the other way round the plain server is only a subscriber, which needs no logical WAL: online works
    back = service.start(ctx, admin, slug, "plain", MoveOptions(poll_s=0.02, sync_timeout_s=60))
    assert back.status == "completed" and back.mode == "online"


def test_assess_names_every_missing_setting():
    old = preflight.ServerFacts(140009, "replica", 10, 1, 1, 10, False, False, "x")
    found = preflight.assess(old, old)
    text = found.explain("a", "b")
    for part in ("source cluster a: PostgreSQL 14.9 (15 or later needed)", "wal_level is replica",
                 "no free replication slot (10 of 10 used", "max_wal_senders is 1",
                 "neither SUPERUSER nor REPLICATION", "target cluster b: PostgreSQL 14.9",
                 "not a superuser", "max_logical_replication_workers is 1"):
        assert part in text, part
    ok = preflight.ServerFacts(150004, "logical", 20, 20, 4, 0, True, True, "y")
    assert preflight.assess(ok, ok).online
