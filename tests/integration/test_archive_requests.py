"""Archive requests as a queue (control_plane/archive/requests.py): support asks, an admin approves
(the archive runs and settles the request) or declines with a reason; one pending per tenant;
every step audited; the CLI lists and declines."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from control_plane.archive import requests
from control_plane.archive import service as archive
from control_plane.db.models import AuditEntry
from control_plane.errors import Conflict, ControlPlaneError, Forbidden, InvalidInput
from tests import moto_server
from tests.factories import make_tenant

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures


@pytest.fixture
def bucket(ctx, aws) -> str:
    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    return ctx.settings.archive_bucket


def _audit(ctx, action):
    with ctx.session_factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_a_request_waits_in_the_queue_once_per_tenant(ctx, support, admin, new_slug):
    slug = new_slug("rq")
    make_tenant(ctx, slug, name="Queue Co")
    filed = archive.request_archive(ctx, support, slug, "customer left")
    assert (filed.status, filed.requested_by, filed.reason) == ("pending", "test-support", "customer left")
    [pending] = archive.pending_archive_requests(ctx, admin)
    assert (pending.slug, pending.tenant_name, pending.tenant_status) == (slug, "Queue Co", "active")
    with pytest.raises(Conflict, match="already requested \\(by test-support"):
        archive.request_archive(ctx, support, slug, "again")
    with pytest.raises(InvalidInput, match="reason is required"):
        archive.request_archive(ctx, support, slug, "  ")
    [entry] = _audit(ctx, "tenant.archive.request")
    assert (entry.actor, entry.reason, entry.detail) == ("test-support", "customer left", {"request": filed.id})


def test_decline_needs_an_admin_and_a_reason_and_the_requester_sees_it(ctx, support, admin, new_slug):
    slug = new_slug("rd")
    make_tenant(ctx, slug)
    archive.request_archive(ctx, support, slug, "customer left")
    with pytest.raises(Forbidden):
        archive.decline_archive_request(ctx, support, slug, "no")
    assert _audit(ctx, "tenant.archive.request.decline")[0].outcome == "denied"
    with pytest.raises(InvalidInput, match="person who asked"):
        archive.decline_archive_request(ctx, admin, slug, "")
    declined = archive.decline_archive_request(ctx, admin, slug, "contract runs to June")
    assert (declined.status, declined.decided_by, declined.decision_reason) == (
        "declined", "test-admin", "contract runs to June")
    assert declined.decided_at is not None
    assert archive.pending_archive_requests(ctx, admin) == []
    [mine] = requests.requests_by(ctx, support, "test-support")
    assert (mine.slug, mine.status, mine.decision_reason) == (slug, "declined", "contract runs to June")
    entry = _audit(ctx, "tenant.archive.request.decline")[-1]
    assert (entry.outcome, entry.reason, entry.before["request_reason"]) == ("ok", "contract runs to June",
                                                                            "customer left")
    with pytest.raises(Conflict, match="no pending archive request"):
        archive.decline_archive_request(ctx, admin, slug, "again")
    assert archive.request_archive(ctx, support, slug, "asked again").status == "pending"  # a new one may follow


def test_approve_runs_the_archive_and_settles_the_request(ctx, bucket, support, admin, new_slug):
    slug = new_slug("ra")
    make_tenant(ctx, slug)
    with pytest.raises(Conflict, match="no pending archive request"):
        archive.approve_archive_request(ctx, admin, slug)
    archive.request_archive(ctx, support, slug, "customer left")
    with pytest.raises(Forbidden):
        archive.approve_archive_request(ctx, support, slug)
    assert archive.approve_archive_request(ctx, admin, slug).status == "archived"
    [settled] = requests.requests_for_tenant(ctx, support, slug)
    assert (settled.status, settled.decided_by) == ("approved", "test-admin")
    [entry] = [e for e in _audit(ctx, "tenant.archive.request.approve") if e.outcome == "ok"]
    assert entry.before["requested_by"] == "test-support"
    assert archive.pending_archive_requests(ctx, admin) == []


def test_a_failed_archive_leaves_the_request_pending(ctx, aws, support, admin, new_slug):
    slug = new_slug("rf")  # no bucket: the upload fails and the tenant is put back
    make_tenant(ctx, slug)
    archive.request_archive(ctx, support, slug, "customer left")
    with pytest.raises(ControlPlaneError):  # S3 refuses (no bucket); the tenant is put back
        archive.approve_archive_request(ctx, admin, slug)
    [still] = archive.pending_archive_requests(ctx, admin)
    assert (still.slug, still.status, still.tenant_status) == (slug, "pending", "active")


def test_cli_lists_and_declines(ctx, cli, support, new_slug):
    slug = new_slug("rc")
    make_tenant(ctx, slug)
    assert cli("tenants", "archive-requests") == (0, "No pending archive requests.\n", "")
    archive.request_archive(ctx, support, slug, "customer left")
    code, out, _ = cli("tenants", "archive-requests", "--format", "json")
    assert code == 0
    [row] = json.loads(out)
    assert (row["slug"], row["requested_by"], row["reason"], row["status"]) == (
        slug, "test-support", "customer left", "pending")
    code, out, _ = cli("tenants", "archive-requests")
    assert code == 0 and slug in out and "customer left" in out
    code, out, _ = cli("tenants", "decline-archive", slug, "--reason", "still paying", "--format", "json",
                       "--actor", "ana")
    assert code == 0
    assert (json.loads(out)["status"], json.loads(out)["decided_by"]) == ("declined", "cli:ana")
    code, _, err = cli("tenants", "decline-archive", slug, "--reason", "again")
    assert code != 0 and "no pending archive request" in err and "Traceback" not in err


def test_migration_0013_carries_open_requests_over_from_the_audit_log(pg_server):
    """Requests filed before the queue existed: the latest open one per active/suspended tenant
    becomes a pending row; one followed by an archive attempt, or of an archived tenant, does not."""
    from sqlalchemy import text

    from control_plane.db import migrate
    from control_plane.db.engine import make_engine
    from tests.conftest import create_database

    engine = make_engine(pg_server.url(create_database(pg_server, "cp_0013")))
    try:
        migrate.upgrade(engine, "0012")
        with engine.begin() as conn:
            for slug, status in (("open1", "active"), ("handled", "active"), ("gone", "archived")):
                conn.execute(text("INSERT INTO control_plane.tenants (slug, name, plan_code, status, cluster_name) "
                                  "VALUES (:s, :s, 'team', :st, 'default')"), {"s": slug, "st": status})
            for slug, action, reason, minutes in (("open1", "tenant.archive.request", "first", 30),
                                                  ("open1", "tenant.archive.request", "latest", 20),
                                                  ("handled", "tenant.archive.request", "x", 30),
                                                  ("handled", "tenant.archive.start", None, 10),
                                                  ("gone", "tenant.archive.request", "y", 30)):
                conn.execute(text("INSERT INTO control_plane.audit_log (at, actor, actor_role, action, tenant_slug, "
                                  "outcome, reason) VALUES (now() - make_interval(mins => :m), 'sam', 'support', "
                                  ":a, :s, 'ok', :r)"), {"m": minutes, "a": action, "s": slug, "r": reason})
        migrate.upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT tenant_slug, requested_by, reason, status "
                                     "FROM control_plane.archive_requests")).all()
        assert [tuple(r) for r in rows] == [("open1", "sam", "latest", "pending")]
    finally:
        engine.dispose()
