"""Archive → verify → drop → restore against real PostgreSQL and moto S3 (server mode): every row
comes back, a failed verification changes nothing, and a crash at any step is finished by a re-run."""

from __future__ import annotations

import json

import psycopg
import pytest
from sqlalchemy import select

from control_plane.adapters.clusters import libpq_url
from control_plane.adapters.tenant_context import tenant_transaction
from control_plane.archive import service as archive
from control_plane.archive.service import VerificationFailed
from control_plane.aws.s3 import parse_uri
from control_plane.cli import main
from control_plane.db.models import AuditEntry, Tenant
from control_plane.errors import Conflict, Forbidden
from control_plane.services import tenants
from tests import moto_server
from tests.factories import make_tenant

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures

TABLES = ("users", "teams", "team_members", "projects", "tasks", "comments", "events")


@pytest.fixture
def bucket(ctx, aws) -> str:
    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    return ctx.settings.archive_bucket


def conn(ctx) -> psycopg.Connection:
    return psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True)


def fill(ctx, slug: str, users: int = 50) -> None:
    """Every template table, with text that names the schema and needs COPY escaping."""
    with conn(ctx) as c, tenant_transaction(c, slug) as t:
        t.execute("INSERT INTO users (email, full_name) SELECT 'u' || g || '@x.io', 'Ünïcode\tName ' || g "
                  "FROM generate_series(1, %s) g", (users,))
        t.execute("INSERT INTO teams (name) VALUES ('core'), ('ops')")
        t.execute("INSERT INTO team_members (team_id, user_id) SELECT 1, id FROM users WHERE id % 2 = 0")
        t.execute("INSERT INTO projects (team_id, name) VALUES (1, 'alpha'), (2, 'beta')")
        t.execute("INSERT INTO tasks (project_id, assignee_id, title) SELECT 1 + g %% 2, g, 'task ' || g "
                  "FROM generate_series(1, %s) g", (users,))
        t.execute("INSERT INTO comments (task_id, author_id, body) VALUES (1, 1, %s), (2, 2, %s)",
                  (f"see tenant_{slug}.users\nand a backslash \\ here", "line\\.\nnot the end"))
        t.execute("INSERT INTO events (actor_id, kind, payload) VALUES (1, 'login', %s)",
                  (json.dumps({"schema": f"tenant_{slug}"}),))


def snapshot(ctx, slug: str) -> dict[str, str]:
    """Every row of every table, as text, in key order."""
    with conn(ctx) as c:
        return {t: c.execute(f'SELECT coalesce(string_agg(x::text, E\'\\n\' ORDER BY x::text), \'\') '
                             f'FROM "tenant_{slug}"."{t}" x').fetchone()[0] for t in TABLES}


def tenant_row(ctx, slug: str) -> Tenant:
    with ctx.session_factory() as session:
        return session.scalar(select(Tenant).where(Tenant.slug == slug))


def objects_on_cluster(ctx, slug: str) -> tuple[bool, bool]:
    with conn(ctx) as c:
        schema = c.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (f"tenant_{slug}",)).fetchone()
        role = c.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (f"tenant_{slug}",)).fetchone()
        scratch = c.execute("SELECT 1 FROM pg_namespace WHERE nspname LIKE 'cp\\_verify\\_%%'").fetchone()
    assert scratch is None, "a verification scratch schema was left behind"
    return schema is not None, role is not None


def keys(aws, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []))


def test_archive_verify_drop_restore_keeps_every_row(ctx, aws, bucket, admin, new_slug):
    slug = new_slug("arc")
    make_tenant(ctx, slug)
    fill(ctx, slug)
    before = snapshot(ctx, slug)

    archived = archive.archive_tenant(ctx, admin, slug)

    assert archived.status == "archived"
    assert objects_on_cluster(ctx, slug) == (False, False)
    row = tenant_row(ctx, slug)
    s3_bucket, key = parse_uri(row.archive_uri)
    assert s3_bucket == bucket and key.startswith(f"archives/{slug}/")
    assert aws.client("s3").head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "AES256"
    manifest_key = key.replace(".dump", ".manifest.json")
    manifest = json.loads(aws.client("s3").get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    assert manifest["tables"]["users"] == 50 and manifest["tables"]["comments"] == 2
    assert (row.purge_after - row.archived_at).days == 90

    restored = archive.restore_tenant(ctx, admin, slug)

    assert restored.status == "active"
    assert snapshot(ctx, slug) == before
    with conn(ctx) as c, tenant_transaction(c, slug) as t:  # the role works again, identities continue
        new_id = t.execute("INSERT INTO users (email, full_name) VALUES ('new@x.io', 'New') RETURNING id").fetchone()
    assert new_id[0] == 51
    assert tenant_row(ctx, slug).archive_uri is None
    with ctx.session_factory() as session:
        actions = [a for (a,) in session.execute(select(AuditEntry.action).where(AuditEntry.tenant_slug == slug)
                                                 .order_by(AuditEntry.id))]
    assert actions[-3:] == ["tenant.archive.start", "tenant.archive", "tenant.restore"]


def test_suspended_tenant_archives_and_restores_to_active(ctx, aws, bucket, admin, new_slug):
    slug = new_slug("sus")
    make_tenant(ctx, slug)
    fill(ctx, slug, users=3)
    tenants.suspend(ctx, admin, slug, "unpaid")
    archive.archive_tenant(ctx, admin, slug)
    assert archive.archive_tenant(ctx, admin, slug).status == "archived"  # again: no-op
    assert archive.restore_tenant(ctx, admin, slug).status == "active"
    assert archive.restore_tenant(ctx, admin, slug).status == "active"  # again: no-op
    assert snapshot(ctx, slug)["users"].count("\n") == 2


def corrupt_dump(aws, bucket: str):
    def fault(step: str) -> None:
        if step == "uploaded":
            key = next(k for k in keys(aws, bucket) if k.endswith(".dump"))
            aws.client("s3").put_object(Bucket=bucket, Key=key, Body=b"PGDMP not really a dump")
    return fault


def assert_unchanged(ctx, slug: str, before_rows, before_row: Tenant, aws, bucket) -> None:
    after = tenant_row(ctx, slug)
    assert (after.status, after.status_reason, after.archive_uri, after.updated_at) == (
        before_row.status, before_row.status_reason, None, before_row.updated_at)
    assert objects_on_cluster(ctx, slug) == (True, True)
    assert snapshot(ctx, slug) == before_rows
    assert keys(aws, bucket) == []


def test_failed_verification_changes_nothing(ctx, aws, bucket, admin, new_slug):
    slug = new_slug("bad")
    make_tenant(ctx, slug)
    fill(ctx, slug, users=10)
    before_rows, before_row = snapshot(ctx, slug), tenant_row(ctx, slug)

    with pytest.raises(VerificationFailed, match="checksum"):
        archive.archive_tenant(ctx, admin, slug, fault=corrupt_dump(aws, bucket))

    assert_unchanged(ctx, slug, before_rows, before_row, aws, bucket)
    with conn(ctx) as c, tenant_transaction(c, slug) as t:  # write access is back
        t.execute("INSERT INTO teams (name) VALUES ('still here')")
    with ctx.session_factory() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "tenant.archive",
                                                        AuditEntry.tenant_slug == slug))
    assert entry.outcome == "error" and entry.detail["rolled_back"]


@pytest.mark.parametrize("drift, message", [
    ("CREATE TABLE {s}.notes (id int PRIMARY KEY); INSERT INTO {s}.notes VALUES (1)",
     r"table\(s\) notes are not part of the tenant template"),
    ("ALTER TABLE {s}.users ADD COLUMN nickname text",
     r"table users has columns the tenant template does not \(nickname\)"),
])
def test_drift_from_the_template_fails_verification(ctx, aws, bucket, admin, new_slug, drift, message):
    """A restore rebuilds the template and loads rows only, so an archive that could not bring
    back everything it holds is refused before anything is dropped."""
    slug = new_slug("cnt")
    make_tenant(ctx, slug)
    fill(ctx, slug, users=10)
    tenants.suspend(ctx, admin, slug, "moving out")
    with conn(ctx) as c:
        c.execute(drift.format(s=f'"tenant_{slug}"'))
    before_rows, before_row = snapshot(ctx, slug), tenant_row(ctx, slug)

    with pytest.raises(VerificationFailed, match=message):
        archive.archive_tenant(ctx, admin, slug)

    assert_unchanged(ctx, slug, before_rows, before_row, aws, bucket)
    with conn(ctx) as c, pytest.raises(psycopg.errors.InsufficientPrivilege):  # still suspended
        with tenant_transaction(c, slug) as t:
            t.execute("SELECT count(*) FROM users")


class Crash(Exception):
    pass


def crash_at(target: str):
    def fault(step: str) -> None:
        if step == target:
            raise Crash(step)
    return fault


@pytest.mark.parametrize("step", ["started", "uploaded", "verified_recorded", "dropped"])
def test_archive_crash_at_any_step_is_finished_by_a_rerun(ctx, aws, bucket, admin, new_slug, step):
    slug = new_slug("crash")
    make_tenant(ctx, slug)
    fill(ctx, slug, users=7)
    before = snapshot(ctx, slug)

    with pytest.raises(Crash):
        archive.archive_tenant(ctx, admin, slug, fault=crash_at(step))
    if step == "uploaded":  # a failure before verification completes rolls back like a bad dump
        assert tenant_row(ctx, slug).status == "active"
    else:
        assert tenant_row(ctx, slug).status == "archiving"
        with conn(ctx) as c, pytest.raises(psycopg.errors.InsufficientPrivilege):
            with tenant_transaction(c, slug) as t:  # no writes while archiving
                t.execute("INSERT INTO teams (name) VALUES ('late')")

    assert archive.archive_tenant(ctx, admin, slug).status == "archived"
    assert objects_on_cluster(ctx, slug) == (False, False)
    assert len([k for k in keys(aws, bucket) if k.endswith(".dump")]) == 1
    assert archive.restore_tenant(ctx, admin, slug).status == "active"
    assert snapshot(ctx, slug) == before


def test_restore_crash_is_finished_by_a_rerun(ctx, aws, bucket, admin, new_slug):
    slug = new_slug("rcr")
    make_tenant(ctx, slug)
    fill(ctx, slug, users=5)
    before = snapshot(ctx, slug)
    archive.archive_tenant(ctx, admin, slug)

    with pytest.raises(Crash):
        archive.restore_tenant(ctx, admin, slug, fault=crash_at("restored"))
    assert tenant_row(ctx, slug).status == "archived"

    assert archive.restore_tenant(ctx, admin, slug).status == "active"
    assert snapshot(ctx, slug) == before


def test_only_admins_archive_support_requests(ctx, aws, bucket, admin, support, new_slug):
    slug = new_slug("req")
    make_tenant(ctx, slug)
    with pytest.raises(Forbidden):
        archive.archive_tenant(ctx, support, slug)
    with pytest.raises(Forbidden):
        archive.restore_tenant(ctx, support, slug)
    archive.request_archive(ctx, support, slug, "customer left")
    pending = archive.pending_archive_requests(ctx, admin)
    assert [(p.slug, p.reason, p.requested_by) for p in pending] == [(slug, "customer left", "test-support")]
    archive.archive_tenant(ctx, admin, slug)
    assert archive.pending_archive_requests(ctx, admin) == []
    with pytest.raises(Conflict, match="it is archived"):
        archive.request_archive(ctx, support, slug, "again")


def test_cli_archive_and_restore(ctx, aws, bucket, moto_endpoint, database_url, monkeypatch, capsys, new_slug):
    slug = new_slug("cli")
    make_tenant(ctx, slug)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)

    assert main(["tenants", "archive", slug, "--format", "json", "--actor", "ops"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "archived"
    assert main(["tenants", "restore", slug, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "active"
    assert main(["tenants", "restore", "nosuchtenant"]) == 3
    assert capsys.readouterr().err.startswith("error: No tenant")


def test_archive_cancels_billing_and_restore_resumes_it(ctx, aws, bucket, admin, new_slug):
    from datetime import UTC, datetime, timedelta

    from control_plane.db.models import SubscriptionChange
    from control_plane.revenue import ledger

    slug = new_slug("bill")
    make_tenant(ctx, slug, plan="business")
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    with ctx.session_factory() as session:  # billing history that predates today's actions
        session.execute(SubscriptionChange.__table__.update().where(SubscriptionChange.tenant == slug)
                        .values(effective_date=yesterday))
        session.commit()
    archive.archive_tenant(ctx, admin, slug)
    today = datetime.now(UTC).date()
    with ctx.session_factory() as session:
        state = ledger.state_on(session, slug, today)
        assert state.status == "canceled" and state.plan == "business"
    archive.restore_tenant(ctx, admin, slug)
    with ctx.session_factory() as session:
        state = ledger.state_on(session, slug, today)
        assert state.status == "active" and state.plan == "business"


def test_archive_from_before_checksums_takes_its_audited_checksum_or_is_refused(ctx, aws, bucket, admin, new_slug):
    """Migration 0007: an archive made before the catalog kept checksums gets the one its
    `tenant.archive` audit entry recorded; without one, restore refuses to trust the object."""
    import importlib.util
    from pathlib import Path

    from sqlalchemy import text, update

    slug = new_slug("old")
    make_tenant(ctx, slug)
    fill(ctx, slug, users=4)
    before = snapshot(ctx, slug)
    archive.archive_tenant(ctx, admin, slug)
    recorded = tenant_row(ctx, slug)
    with ctx.session_factory() as session:  # as the catalog looked before migration 0007
        session.execute(update(Tenant).where(Tenant.slug == slug).values(
            archive_sha256=None, archive_size_bytes=None, archive_tables=None))
        session.commit()

    with pytest.raises(Conflict, match="no archive checksum recorded"):
        archive.restore_tenant(ctx, admin, slug)

    path = Path(archive.__file__).parents[1] / "migrations" / "versions" / "0007_archive_checksums.py"
    spec = importlib.util.spec_from_file_location("migration_0007", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with ctx.session_factory() as session:
        session.execute(text(migration.BACKFILL))
        session.commit()
    backfilled = tenant_row(ctx, slug)
    assert (backfilled.archive_sha256, backfilled.archive_size_bytes, backfilled.archive_tables) == (
        recorded.archive_sha256, recorded.archive_size_bytes, recorded.archive_tables)
    assert archive.restore_tenant(ctx, admin, slug).status == "active"
    assert snapshot(ctx, slug) == before
