"""A move crashed at every step, then finished by running it again or undone by cancel; a failed
verification; suspended tenants; migrations skipping a moving tenant (docs/moves.md "Crash, resume
and cancel")."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import select

from control_plane.adapters.tenant_context import tenant_session
from control_plane.db.models import Tenant
from control_plane.fleet import service as fleet
from control_plane.fleet.options import Options
from control_plane.moves import ledger, service
from control_plane.moves.service import MoveOptions
from control_plane.moves.steps import VerificationFailed
from control_plane.services import tenants
from tests.conftest import CLUSTER_B_URL_ENV
from tests.factories import make_tenant
from tests.faults import Crash, crash_at
from tests.integration.move_helpers import contents, fill, schema_of

FAST = MoveOptions(poll_s=0.02, sync_timeout_s=60, catchup_timeout_s=30)


ACLS = """
SELECT c.relname, c.relacl::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %s ORDER BY 1
"""


def state(ctx, url_env, slug):
    """Everything a cancel must give back: rows and checksums, table/sequence rights, schema rights,
    and replication objects of moves on that server."""
    schema = schema_of(slug)
    with ctx.clusters.connect(url_env, autocommit=True) as conn:
        acls = conn.execute(ACLS, (schema,)).fetchall()
        nsp = conn.execute("SELECT nspacl::text FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        repl = conn.execute("SELECT (SELECT count(*) FROM pg_publication WHERE pubname LIKE 'cp_move_%%'), "
                            "(SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'cp_move_%%'), "
                            "(SELECT count(*) FROM pg_subscription WHERE subname LIKE 'cp_move_%%')").fetchone()
    return {"data": contents(ctx.clusters, url_env, schema) if nsp else None, "acls": acls, "schema_acl": nsp,
            "replication": repl}


def cluster_of(ctx, slug):
    with ctx.session_factory() as s:
        return s.scalar(select(Tenant.cluster_name).where(Tenant.slug == slug))


def writable(ctx, url_env, slug):
    with tenant_session(ctx.clusters.pool(url_env, slug), slug) as conn:
        conn.execute("INSERT INTO teams (name) VALUES (%s)", (f"probe-{conn.info.backend_pid}-{id(conn)}",))


@pytest.fixture
def tenant(ctx, cluster_b, new_slug):
    slug = new_slug("mf")
    make_tenant(ctx, slug)
    fill(ctx.clusters, None, slug, users=20)
    return slug


ONLINE = ["target_prepared", "published", "subscribed", "synchronised", "writes_blocked", "caught_up",
          "sequences_copied", "verified", "granted_on_target", "cleaned_up"]


@pytest.mark.parametrize("step", ONLINE)
def test_crash_at_each_step_then_run_again_completes(ctx, admin, tenant, step):
    before = contents(ctx.clusters, None, schema_of(tenant))
    with pytest.raises(Crash):
        service.start(ctx, admin, tenant, "b", FAST, fault=crash_at(step))
    assert cluster_of(ctx, tenant) == ("b" if step == "cleaned_up" else "default")
    moved = service.start(ctx, admin, tenant, "b", FAST)  # the same command again
    assert moved.status == "completed"
    assert contents(ctx.clusters, CLUSTER_B_URL_ENV, schema_of(tenant)) == before
    assert cluster_of(ctx, tenant) == "b"
    writable(ctx, CLUSTER_B_URL_ENV, tenant)
    assert state(ctx, None, tenant)["replication"] == (0, 0, 0)
    assert state(ctx, CLUSTER_B_URL_ENV, tenant)["replication"] == (0, 0, 0)
    recorded = [s["step"] for s in moved.steps]
    assert tuple(recorded) == ledger.ONLINE_STEPS  # each step recorded once, in order


@pytest.mark.parametrize("step", ONLINE[:8])
def test_crash_before_the_cut_over_then_cancel_leaves_the_source_as_it_was(ctx, admin, tenant, step):
    before = state(ctx, None, tenant)
    with pytest.raises(Crash):
        service.start(ctx, admin, tenant, "b", FAST, fault=crash_at(step))
    cancelled = service.cancel(ctx, admin, tenant)
    assert cancelled.status == "cancelled"
    assert state(ctx, None, tenant) == before
    assert state(ctx, CLUSTER_B_URL_ENV, tenant)["schema_acl"] is None  # no target schema left
    assert state(ctx, CLUSTER_B_URL_ENV, tenant)["replication"] == (0, 0, 0)
    assert cluster_of(ctx, tenant) == "default"
    writable(ctx, None, tenant)


def test_cancel_after_the_cut_over_is_refused(ctx, admin, tenant):
    with pytest.raises(Crash):
        service.start(ctx, admin, tenant, "b", FAST, fault=crash_at("cleaned_up"))
    with pytest.raises(Exception, match="past its cut-over"):
        service.cancel(ctx, admin, tenant)
    assert service.start(ctx, admin, tenant, "b", FAST).status == "completed"


def test_failed_verification_never_switches(ctx, admin, tenant):
    before = state(ctx, None, tenant)

    def tamper(step):  # a row changed on the target behind the move's back
        if step == "sequences_copied":
            with ctx.clusters.connect(CLUSTER_B_URL_ENV, autocommit=True) as conn:
                conn.execute(f'UPDATE "{schema_of(tenant)}".users SET full_name = \'tampered\' WHERE id = 1')

    with pytest.raises(VerificationFailed, match="users"):
        service.start(ctx, admin, tenant, "b", FAST, fault=tamper)
    move = service.current(ctx, admin, tenant)
    assert move.status == "failed" and "users" in move.error
    assert cluster_of(ctx, tenant) == "default"
    assert state(ctx, None, tenant) == before
    assert state(ctx, CLUSTER_B_URL_ENV, tenant)["schema_acl"] is None
    writable(ctx, None, tenant)


def test_offline_crash_at_copy_then_run_again(ctx, admin, tenant):
    before = contents(ctx.clusters, None, schema_of(tenant))
    offline = MoveOptions(offline=True, poll_s=0.02)
    with pytest.raises(Crash):
        service.start(ctx, admin, tenant, "b", offline, fault=crash_at("copied"))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # writes stay blocked meanwhile
        writable(ctx, None, tenant)
    moved = service.start(ctx, admin, tenant, "b", offline)
    assert moved.status == "completed" and moved.writes_blocked_ms is not None
    assert contents(ctx.clusters, CLUSTER_B_URL_ENV, schema_of(tenant)) == before


def test_a_suspended_tenant_moves_and_stays_suspended(ctx, admin, tenant):
    tenants.suspend(ctx, admin, tenant, reason="unpaid")
    moved = service.start(ctx, admin, tenant, "b", FAST)
    assert moved.status == "completed"
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        writable(ctx, CLUSTER_B_URL_ENV, tenant)
    tenants.resume(ctx, admin, tenant)
    writable(ctx, CLUSTER_B_URL_ENV, tenant)


def test_migrations_skip_a_moving_tenant(ctx, admin, cluster_b, new_slug):
    slug = new_slug("mm")
    make_tenant(ctx, slug, template_version=1)
    service.request(ctx, admin, slug, "b", FAST)
    started = fleet.start(ctx, admin, Options(waves=(100,), soak_seconds=0, tenants=(slug,)))
    fleet.drive(ctx, admin, started.run_id)
    results = fleet.status(ctx, admin, started.run_id).results
    assert [(r["tenant"], r["status"]) for r in results] == [(slug, "skipped")]
    assert "moving" in results[0]["error"]
    with ctx.session_factory() as s:
        assert s.scalar(select(Tenant.template_version).where(Tenant.slug == slug)) == 1
    service.cancel(ctx, admin, slug)


def test_reconcile_reports_no_drift_during_or_after_a_move(ctx, admin, tenant):
    from datetime import UTC, datetime

    from control_plane.services.reconcile import find_drift

    def mine():
        return [d for d in find_drift(ctx, datetime.now(UTC)) if d.slug == tenant]

    with pytest.raises(Crash):  # mid cut-over: schema on both clusters, access revoked on the source
        service.start(ctx, admin, tenant, "b", FAST, fault=crash_at("verified"))
    assert mine() == []
    service.start(ctx, admin, tenant, "b", FAST)
    assert mine() == []  # the source keeps its role and a renamed schema: neither is drift


def test_a_foreign_schema_on_the_target_is_refused_and_never_dropped(ctx, admin, tenant, cluster_b):
    with psycopg.connect(cluster_b, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema_of(tenant)}"')
        conn.execute(f'CREATE TABLE "{schema_of(tenant)}".keep (id int)')
        conn.execute(f'INSERT INTO "{schema_of(tenant)}".keep VALUES (1)')
    with pytest.raises(Exception, match="not a leftover of this move"):
        service.start(ctx, admin, tenant, "b", FAST)
    assert service.cancel(ctx, admin, tenant).status == "cancelled"
    with psycopg.connect(cluster_b, autocommit=True) as conn:
        assert conn.execute(f'SELECT count(*) FROM "{schema_of(tenant)}".keep').fetchone()[0] == 1
        conn.execute(f'DROP SCHEMA "{schema_of(tenant)}" CASCADE')
    writable(ctx, None, tenant)


def test_cancel_while_the_driver_waits_undoes_it_there(ctx, admin, tenant, cluster_b):
    import threading

    from control_plane.moves import steps
    from tests.integration.test_tenant_move_kill import apply_waiting, lock_on_target
    from tests.polling import wait_for

    before = state(ctx, None, tenant)
    ends = steps.Ends(ctx.clusters, tenant, 0, None, CLUSTER_B_URL_ENV, "default", "b")
    steps.prepare_target(ends, tenants.show(ctx, admin, tenant).template_version)
    holder = lock_on_target(cluster_b, tenant, "users")  # the initial copy waits on it
    outcome = {}
    driver = threading.Thread(target=lambda: outcome.update(move=service.start(ctx, admin, tenant, "b", FAST)))
    canceller = threading.Thread(target=lambda: outcome.update(cancel=service.cancel(ctx, admin, tenant)))
    driver.start()
    try:
        wait_for("the initial copy to wait", lambda: apply_waiting(cluster_b))
        canceller.start()  # the lock stays held: the move cannot reach its cut-over meanwhile

        def undo_waits_on_the_lock():  # the driver noticed, dropped the subscription, now drops the schema
            with psycopg.connect(cluster_b, autocommit=True) as conn:
                return conn.execute("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND query ILIKE 'DROP SCHEMA%%'").fetchone()

        wait_for("the driver's undo to reach the target schema", undo_waits_on_the_lock)
    finally:
        holder.rollback()
        holder.close()
        driver.join(timeout=60)
        canceller.join(timeout=60)
    assert outcome["cancel"].status == "cancelled" and outcome["move"].status == "cancelled"
    assert state(ctx, None, tenant) == before
    assert state(ctx, CLUSTER_B_URL_ENV, tenant)["schema_acl"] is None


def test_a_cluster_error_stops_the_move_with_one_line_then_cancel(ctx, admin, tenant):
    from control_plane.errors import ControlPlaneError

    before = state(ctx, None, tenant)

    def drop_target_sequence(step):
        if step == "caught_up":
            with ctx.clusters.connect(CLUSTER_B_URL_ENV, autocommit=True) as conn:
                conn.execute(f'ALTER TABLE "{schema_of(tenant)}".teams ALTER COLUMN id DROP IDENTITY')

    with pytest.raises(ControlPlaneError, match=r"stopped after step caught_up: .*run the move again or cancel"):
        service.start(ctx, admin, tenant, "b", FAST, fault=drop_target_sequence)
    move = service.current(ctx, admin, tenant)
    assert move.status == "running" and "stopped after step caught_up" in move.error
    assert service.cancel(ctx, admin, tenant).status == "cancelled"
    assert state(ctx, None, tenant) == before


def test_reconcile_reports_a_stalled_move(ctx, admin, tenant):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from control_plane.db.models import TenantMove
    from control_plane.services.reconcile import find_drift

    move = service.request(ctx, admin, tenant, "b", FAST)
    now = datetime.now(UTC)
    assert [d for d in find_drift(ctx, now) if d.kind == "stuck" and d.slug == tenant] == []
    with ctx.session_factory() as s:
        s.execute(update(TenantMove).where(TenantMove.id == move.id).values(updated_at=now - timedelta(hours=2)))
        s.commit()
    stuck = [d for d in find_drift(ctx, now) if d.kind == "stuck" and d.slug == tenant]
    assert len(stuck) == 1 and f"move #{move.id}" in stuck[0].detail and "tenants move cancel" in stuck[0].detail
    service.cancel(ctx, admin, tenant)
