"""kill -9 of `tenants move` during the initial copy and inside the cut-over: running the move
again finishes it with nothing lost (docs/moves.md "Crash, resume and cancel").

The CLI is paused deterministically with locks on the target cluster: an EXCLUSIVE lock on a
target table lets the move read it but stops the subscription writing into it, so the initial
copy (or the catch-up) waits until the test lets go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from control_plane.moves import ledger, service, steps
from control_plane.moves.service import MoveOptions
from tests.conftest import CLUSTER_B_URL_ENV
from tests.factories import make_tenant
from tests.faults import Crash, crash_at
from tests.integration.move_helpers import contents, fill, schema_of
from tests.integration.test_tenant_move_faults import cluster_of, writable
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]
FAST = MoveOptions(poll_s=0.02, sync_timeout_s=60, catchup_timeout_s=30)


def launch(database_url: str, cluster_b: str, slug: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, CLUSTER_B_URL_ENV: cluster_b}
    return subprocess.Popen([sys.executable, "-m", "control_plane", "tenants", "move", slug, "--to", "b"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill(cli: subprocess.Popen) -> None:
    os.kill(cli.pid, signal.SIGKILL)
    cli.wait(timeout=30)


def lock_on_target(cluster_b: str, slug: str, table: str) -> psycopg.Connection:
    holder = psycopg.connect(cluster_b)
    holder.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.Identifier(schema_of(slug), table)))
    return holder


def apply_waiting(cluster_b: str) -> bool:
    with psycopg.connect(cluster_b, autocommit=True) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                 "AND backend_type LIKE 'logical replication%%'").fetchone())


def running_move(ctx, slug):
    with ctx.session_factory() as session:
        return ledger.active(session, slug)


@pytest.fixture
def tenant(ctx, cluster_b, new_slug):
    slug = new_slug("mk")
    make_tenant(ctx, slug)
    fill(ctx.clusters, None, slug, users=30)
    return slug


def test_kill_9_during_the_initial_copy_then_run_again(ctx, admin, tenant, database_url, cluster_b):
    before = contents(ctx.clusters, None, schema_of(tenant))
    # The target schema as the move would make it (it adopts an empty one at the same version),
    # so the test can hold a lock there before the copy starts.
    ends = steps.Ends(ctx.clusters, tenant, 0, None, CLUSTER_B_URL_ENV, "default", "b")
    steps.prepare_target(ends, _version(ctx, tenant))
    holder = lock_on_target(cluster_b, tenant, "users")
    cli = launch(database_url, cluster_b, tenant)
    try:
        wait_for("the initial copy to wait on the lock", lambda: apply_waiting(cluster_b))
        kill(cli)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert running_move(ctx, tenant).step == "subscribed"
    writable(ctx, None, tenant)  # an online move blocks nothing before its cut-over
    holder.rollback()
    holder.close()
    moved = service.start(ctx, admin, tenant, "b", FAST)
    assert moved.status == "completed" and cluster_of(ctx, tenant) == "b"
    after = contents(ctx.clusters, CLUSTER_B_URL_ENV, schema_of(tenant))
    assert after["users"] == before["users"]


def test_kill_9_inside_the_cut_over_then_run_again(ctx, admin, tenant, database_url, cluster_b):
    with pytest.raises(Crash):  # replication running, writes blocked, the cut-over not recorded
        service.start(ctx, admin, tenant, "b", FAST, fault=crash_at("writes_blocked"))
    holder = lock_on_target(cluster_b, tenant, "teams")
    with ctx.clusters.connect(None, autocommit=True) as conn:  # the tenant's last write before the block
        conn.execute(sql.SQL("INSERT INTO {} (name) VALUES ('last-write')").format(
            sql.Identifier(schema_of(tenant), "teams")))
    cli = launch(database_url, cluster_b, tenant)
    try:
        wait_for("the catch-up to wait on the lock", lambda: apply_waiting(cluster_b)
                 and running_move(ctx, tenant).step == "writes_blocked")
        kill(cli)
    finally:
        if cli.poll() is None:
            cli.kill()
    move = running_move(ctx, tenant)
    assert move.step == "writes_blocked" and move.writes_blocked_at is not None
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # still blocked: nothing can be lost
        writable(ctx, None, tenant)
    holder.rollback()
    holder.close()
    moved = service.start(ctx, admin, tenant, "b", FAST)
    assert moved.status == "completed" and cluster_of(ctx, tenant) == "b"
    assert moved.writes_blocked_ms >= 0
    with ctx.clusters.connect(CLUSTER_B_URL_ENV, autocommit=True) as conn:
        assert conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE name = 'last-write'").format(
            sql.Identifier(schema_of(tenant), "teams"))).fetchone()[0] == 1
    writable(ctx, CLUSTER_B_URL_ENV, tenant)


def _version(ctx, slug):
    from control_plane.services import tenants
    from tests.factories import OPERATOR

    return tenants.show(ctx, OPERATOR, slug).template_version
