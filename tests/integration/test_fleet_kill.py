"""kill -9 of `tenants migrate` in the middle of a wave: the run resumes to completion and no
revision is applied twice (docs/migrations.md "Ledger").

The CLI is paused deterministically: the test holds a lock on the third tenant's `tasks` table,
so the CLI waits on it (lock_timeout raised for the test) until the test sees it waiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from psycopg import sql
from sqlalchemy import select

from control_plane.db.models import AuditEntry
from control_plane.fleet import service
from tests.factories import OPERATOR, make_tenant
from tests.integration.fleet_helpers import catalog_version, raw
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_kill_9_mid_wave_resumes_and_applies_nothing_twice(ctx, new_slug, database_url):
    slugs = [new_slug("k") for _ in range(4)]
    for slug in slugs:
        make_tenant(ctx, slug, template_version=1)
    order = sorted(slugs)  # a wave's tenants are migrated in slug order
    blocked = order[2]
    holder = raw(ctx)
    holder.autocommit = False
    holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(sql.Identifier(f"tenant_{blocked}", "tasks")))
    env = {**os.environ, "DATABASE_URL": database_url}
    cli = subprocess.Popen([sys.executable, "-m", "control_plane", "tenants", "migrate", "--waves", "100", "--soak",
                            "0", "--concurrency", "1", "--lock-timeout", "600000", "--tenants", ",".join(slugs)],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with raw(ctx) as watch:
            wait_for("the CLI to wait on the held lock", lambda: watch.execute(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone())
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait(timeout=30)
    finally:
        if cli.poll() is None:
            cli.kill()
    run = service.status(ctx, OPERATOR)
    assert run.status == "running"
    with raw(ctx) as conn:
        assert [catalog_version(conn, s) for s in order] == [3, 3, 1, 1]  # two done before the kill
    holder.rollback()  # the orphaned backend gets the lock, then dies with its transaction undone
    holder.close()
    step = wait_for("the dead driver's run lock to go", lambda: (
        s if (s := service.drive(ctx, OPERATOR, run.id)).status != "busy" else None))
    assert step.status == "completed"
    with raw(ctx) as conn:
        assert {catalog_version(conn, s) for s in slugs} == {3}
    with ctx.session_factory() as s:
        for slug in slugs:  # each revision once per tenant: nothing applied twice
            revisions = [e.detail["revision"] for e in s.scalars(select(AuditEntry).where(
                AuditEntry.tenant_slug == slug, AuditEntry.action == "tenant.migrate").order_by(AuditEntry.id))]
            assert revisions == [2, 3], (slug, revisions)
    assert {r["status"] for r in service.status(ctx, OPERATOR, run.id).results} == {"applied"}
