"""Moving a tenant between two real PostgreSQL servers with logical replication on
(docs/moves.md): online under a writer, offline, cancel, refusals."""

from __future__ import annotations

import json
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import select

from control_plane.adapters.tenant_context import tenant_session
from control_plane.db.models import AuditEntry, Cluster, Tenant
from control_plane.errors import Conflict, InvalidInput
from control_plane.moves import service
from control_plane.moves.service import MoveOptions
from control_plane.services import tenants
from tests import moto_server
from tests.conftest import CLUSTER_B_URL_ENV
from tests.factories import make_tenant
from tests.integration.move_helpers import Writer, contents, fill, schema_of
from tests.polling import wait_for

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures
FAST = MoveOptions(poll_s=0.02, sync_timeout_s=60, catchup_timeout_s=30)


def schema_exists(ctx, url_env, schema):
    with ctx.clusters.connect(url_env, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def cluster_env(ctx, slug):
    with ctx.session_factory() as s:
        name = s.scalar(select(Tenant.cluster_name).where(Tenant.slug == slug))
        return s.get(Cluster, name).url_env


def test_online_move_under_a_writer_loses_nothing(ctx, admin, cluster_b, new_slug):
    slug = new_slug("mv")
    make_tenant(ctx, slug)
    fill(ctx.clusters, None, slug)
    before = contents(ctx.clusters, None, schema_of(slug))
    with Writer(ctx.clusters, lambda: cluster_env(ctx, slug), slug) as writer:
        wait_for("writes before the move", lambda: len(writer.committed) >= 20)
        moved = service.start(ctx, admin, slug, "b", FAST)
        after_switch = len(writer.committed)
        wait_for("writes on the new cluster", lambda: len(writer.committed) >= after_switch + 20)
    print(f"move #{moved.id}: writes blocked {moved.writes_blocked_ms} ms, {len(writer.committed)} writes committed, "
          f"{writer.errors} refused while blocked")
    assert moved.status == "completed" and moved.step == "cleaned_up"
    assert moved.writes_blocked_ms is not None and moved.writes_blocked_ms < 10_000
    assert tenants.show(ctx, admin, slug).cluster == "b"
    # every write the client saw committed is on the target, and ids never collided
    with tenant_session(ctx.clusters.pool(CLUSTER_B_URL_ENV, slug), slug) as conn:
        ids = {r[0] for r in conn.execute("SELECT id FROM events WHERE kind = 'w'")}
    assert set(writer.committed) <= ids
    assert len(writer.committed) == len(set(writer.committed))
    # data identical to the source as it was, plus the writer's rows
    after = contents(ctx.clusters, CLUSTER_B_URL_ENV, schema_of(slug))
    assert {t: v for t, v in after.items() if t != "events"} == {t: v for t, v in before.items() if t != "events"}
    # the source schema is kept, renamed and closed to the tenant
    with ctx.clusters.connect(None, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema_of(slug),)).fetchone() is None
        assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (moved.retained_schema,)).fetchone()
        assert conn.execute("SELECT count(*) FROM pg_publication WHERE pubname LIKE 'cp_move_%%'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'cp_move_%%'"
                            ).fetchone()[0] == 0
    with ctx.clusters.connect(CLUSTER_B_URL_ENV, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_subscription WHERE subname LIKE 'cp_move_%%'").fetchone()[0] == 0
    # new rows on the target continue the sequences without collision
    with tenant_session(ctx.clusters.pool(CLUSTER_B_URL_ENV, slug), slug) as conn:
        conn.execute("INSERT INTO users (email, full_name) VALUES ('new@x.test', 'New')")
    with ctx.session_factory() as s:
        actions = [a for (a,) in s.execute(select(AuditEntry.action).where(AuditEntry.tenant_slug == slug))]
    assert {"tenant.move.start", "tenant.move.switch", "tenant.move"} <= set(actions)


def test_offline_move(ctx, admin, cluster_b, new_slug):
    slug = new_slug("mo")
    make_tenant(ctx, slug)
    fill(ctx.clusters, None, slug)
    before = contents(ctx.clusters, None, schema_of(slug))
    moved = service.start(ctx, admin, slug, "b", MoveOptions(offline=True, poll_s=0.02))
    assert moved.mode == "offline" and moved.status == "completed"
    assert contents(ctx.clusters, CLUSTER_B_URL_ENV, schema_of(slug)) == before
    with tenant_session(ctx.clusters.pool(CLUSTER_B_URL_ENV, slug), slug) as conn:
        conn.execute("INSERT INTO users (email, full_name) VALUES ('new@x.test', 'New')")


def test_moving_tenant_refuses_suspend_and_second_move(ctx, admin, cluster_b, new_slug):
    slug = new_slug("mr")
    make_tenant(ctx, slug)
    move = service.request(ctx, admin, slug, "b", FAST)
    with pytest.raises(Conflict, match="being moved"):
        tenants.suspend(ctx, admin, slug, reason="x")
    with pytest.raises(Conflict, match="already being moved"):
        service.request(ctx, admin, slug, "default", FAST)
    assert service.request(ctx, admin, slug, "b", FAST).id == move.id  # the same move, resumed
    cancelled = service.cancel(ctx, admin, slug)
    assert cancelled.status == "cancelled"
    tenants.suspend(ctx, admin, slug, reason="after the cancel")


def test_a_cancel_drops_the_role_the_move_made_on_the_target(ctx, admin, cluster_b, new_slug):
    """Issue 17: a cancelled move leaves nothing of the tenant on the target: not its schema, not its role."""
    from tests.faults import Crash, crash_at

    slug = new_slug("mrole")
    make_tenant(ctx, slug)
    with pytest.raises(Crash):
        service.start(ctx, admin, slug, "b", FAST, fault=crash_at("published"))
    with psycopg.connect(cluster_b, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (f"tenant_{slug}",)).fetchone()
    assert service.cancel(ctx, admin, slug).status == "cancelled"
    with psycopg.connect(cluster_b, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (f"tenant_{slug}",)).fetchone() is None
        assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema_of(slug),)).fetchone() is None
    assert tenants.show(ctx, admin, slug).cluster == "default"


def test_writes_blocked_start_is_recorded_before_the_revoke(ctx, admin, cluster_b, new_slug, monkeypatch):
    """Issue 17: a mover that dies right after revoking leaves the true start of the blocked time."""
    from control_plane.moves import ledger, steps

    slug = new_slug("mblk")
    make_tenant(ctx, slug)
    seen = {}

    def dies_after_revoking(ends, lock_timeout_ms, tries=3):
        seen["recorded"] = ledger.get(ctx, ends.move_id).writes_blocked_at
        raise RuntimeError("killed after the revoke")

    real_block_writes = steps.block_writes
    monkeypatch.setattr(steps, "block_writes", dies_after_revoking)
    with pytest.raises(RuntimeError):
        service.start(ctx, admin, slug, "b", FAST)
    assert seen["recorded"] is not None
    monkeypatch.setattr(steps, "block_writes", real_block_writes)  # not undo(): it would unset cluster b's URL
    assert service.cancel(ctx, admin, slug).status == "cancelled"


def test_refusals(ctx, admin, support, cluster_b, new_slug):
    slug = new_slug("mx")
    make_tenant(ctx, slug)
    with pytest.raises(InvalidInput, match="already on cluster"):
        service.request(ctx, admin, slug, "default")
    with pytest.raises(InvalidInput, match="Unknown cluster"):
        service.request(ctx, admin, slug, "nowhere")
    from control_plane.errors import Forbidden
    with pytest.raises(Forbidden):
        service.request(ctx, support, slug, "b")
    with psycopg.connect(cluster_b, autocommit=True):
        pass


def test_cli_move_status_history_and_errors(cli, ctx, cluster_b, new_slug):
    slug = new_slug("mc")
    make_tenant(ctx, slug)
    code, out, err = cli("tenants", "move", slug)
    assert code == 2 and "--to CLUSTER" in err and "Traceback" not in err
    code, out, err = cli("tenants", "move", slug, "--to", "nowhere")
    assert code == 2 and "Unknown cluster 'nowhere'" in err
    code, out, err = cli("tenants", "move", "cancel", slug)
    assert code == 3 and "No move" in err
    code, out, err = cli("tenants", "move", slug, "--to", "b", "--actor", "ops")
    assert code == 0, err
    assert json.loads(out)["status"] == "completed" and "writes blocked" in err
    code, out, err = cli("tenants", "move", "status", slug)
    assert code == 0 and json.loads(out)["target"] == "b"
    code, out, err = cli("tenants", "moves", "--tenant", slug, "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("id,tenant,source,target")
    code, out, err = cli("tenants", "show", slug, "--format", "json")
    assert json.loads(out)["cluster"] == "b"
    for hostile in ("x; DROP TABLE y", "../etc", "'\"", "A" * 500):
        code, out, err = cli("tenants", "move", hostile, "--to", "b")
        assert code == 2 and "Traceback" not in err, (hostile, err)


def test_purge_drops_the_retained_schema_after_retention(ctx, admin, cluster_b, new_slug, clock, aws):
    from control_plane.moves.retention import purge_moved_schemas

    slug = new_slug("mp")
    make_tenant(ctx, slug)
    moved = service.start(ctx, admin, slug, "b", FAST)
    assert moved.retain_until == clock.now + timedelta(days=ctx.settings.archive_retention_days)
    assert purge_moved_schemas(ctx, clock.now + timedelta(days=1)).dropped == []
    assert schema_exists(ctx, None, moved.retained_schema)
    from control_plane.scheduler.context import JobContext
    from jobs import archive_purge

    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    summary = archive_purge.run(JobContext(app=ctx, now=lambda: moved.retain_until))  # the daily job does it
    assert summary.endswith("1 moved-away schemas dropped"), summary
    assert not schema_exists(ctx, None, moved.retained_schema)
    assert purge_moved_schemas(ctx, moved.retain_until).dropped == []  # once
    assert service.current(ctx, admin, slug).purged_at == moved.retain_until
    with tenant_session(ctx.clusters.pool(CLUSTER_B_URL_ENV, slug), slug) as conn:  # the tenant itself untouched
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0
