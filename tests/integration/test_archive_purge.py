"""Archive purge: archives past retention are deleted and their tenants become `purged`; objects
no archived tenant refers to go once older than the retention period; live archives stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from control_plane.archive import service as archive
from control_plane.db.models import AuditEntry, Tenant
from control_plane.errors import Conflict
from control_plane.scheduler.context import JobContext
from jobs import archive_purge
from tests import moto_server
from tests.factories import make_tenant

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures


def keys(aws, bucket):
    return sorted(o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []))


def test_purge_after_retention(ctx, aws, admin, new_slug):
    bucket = ctx.settings.archive_bucket
    aws.client("s3").create_bucket(Bucket=bucket)
    old, recent = new_slug("old"), new_slug("recent")
    for slug in (old, recent):
        make_tenant(ctx, slug)
        archive.archive_tenant(ctx, admin, slug)
    later = datetime.now(UTC) + timedelta(days=91)
    with ctx.session_factory() as session:
        session.execute(update(Tenant).where(Tenant.slug == recent).values(purge_after=later + timedelta(days=30)))
        session.commit()
    aws.client("s3").put_object(Bucket=bucket, Key="archives/ghost/20200101T000000Z.dump", Body=b"x")
    kept = [k for k in keys(aws, bucket) if f"/{recent}/" in k]

    summary = archive_purge.run(JobContext(app=ctx, now=lambda: later))

    assert summary.startswith(f"1 tenants purged ({old})")
    assert summary.endswith("1 unreferenced archive objects deleted")
    assert keys(aws, bucket) == kept
    with ctx.session_factory() as session:
        statuses = dict(session.execute(select(Tenant.slug, Tenant.status).where(Tenant.slug.in_([old, recent]))).all())
        purge = session.scalar(select(AuditEntry).where(AuditEntry.action == "tenant.purge"))
    assert statuses == {old: "purged", recent: "archived"}
    assert purge.tenant_slug == old and purge.actor == "job:archive_purge"
    with pytest.raises(Conflict, match="deleted after the retention period"):
        archive.restore_tenant(ctx, admin, old)
    # a second run has nothing left to do
    assert archive_purge.run(JobContext(app=ctx, now=lambda: later)).startswith("0 tenants purged")


def test_purge_removes_work_folders_of_dead_runs(ctx, aws, tmp_path, monkeypatch):
    """An archive killed mid-dump leaves its folder; the daily job removes it even if no other
    archive ever runs on this machine."""
    import dataclasses
    import subprocess
    import sys

    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)
    stale = tmp_path / f"cp-archive-{dead}-1700000000-abc"
    stale.mkdir(mode=0o700)
    (stale / "tenant.dump").write_bytes(b"unencrypted rows")
    monkeypatch.setattr(ctx, "settings", dataclasses.replace(ctx.settings, work_dir=tmp_path))

    summary = archive_purge.run(JobContext(app=ctx, now=lambda: datetime.now(UTC)))

    assert summary.endswith(", 1 stale archive work folders removed")
    assert not stale.exists()
