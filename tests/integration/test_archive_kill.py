"""kill -9 of an archive leaves nothing running and nothing readable behind for long (docs/operations.md
"Archive, restore, purge"): the pg_dump child dies with the CLI, the work folder is private, and
the next run removes it.

The dump is paused deterministically: the tenant schema gets an (empty) partitioned table, which
the archive's row counts skip but pg_dump must lock, and the test holds an ACCESS EXCLUSIVE lock
on it, so pg_dump waits on that lock until the test sees it waiting.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg
import pytest

from control_plane.adapters.clusters import libpq_url
from control_plane.archive import service as archive
from tests import moto_server
from tests.factories import make_tenant
from tests.polling import wait_for

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures
ROOT = Path(__file__).resolve().parents[2]


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # dead, not yet reaped by init
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def bucket(ctx, aws) -> str:
    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    return ctx.settings.archive_bucket


def test_kill_9_mid_dump_leaves_no_pg_dump_and_the_next_run_cleans_up(
        ctx, aws, bucket, admin, new_slug, database_url, moto_endpoint, tmp_path, monkeypatch):
    slug = new_slug("kill")
    schema = f"tenant_{slug}"
    make_tenant(ctx, slug)
    work = tmp_path / "work"
    url = libpq_url(ctx.catalog_url)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f'CREATE TABLE "{schema}".blocker (id int) PARTITION BY RANGE (id)')
    blocker = psycopg.connect(url)
    blocker.execute(f'LOCK TABLE "{schema}".blocker IN ACCESS EXCLUSIVE MODE')

    env = dict(os.environ, DATABASE_URL=database_url, AWS_ENDPOINT_URL=moto_endpoint, CP_WORK_DIR=str(work))
    cli = subprocess.Popen([sys.executable, "-m", "control_plane", "tenants", "archive", slug], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        dumper = wait_for("pg_dump to start", lambda: next(
            (p for p in psutil.Process(cli.pid).children() if p.name() == "pg_dump"), None))
        with psycopg.connect(url, autocommit=True) as c:
            wait_for("pg_dump to wait on the lock", lambda: c.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = 'pg_dump' AND wait_event_type = 'Lock'"
            ).fetchone())
        folders = list(work.glob(f"cp-archive-{cli.pid}-*"))
        assert len(folders) == 1
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait()
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()

    wait_for("pg_dump to die with its parent", lambda: gone(dumper.pid), seconds=10)
    stale = folders[0]
    assert stale.exists()  # nobody cleaned it: the process was killed
    assert stat.S_IMODE(stale.stat().st_mode) == 0o700 and stat.S_IMODE(work.stat().st_mode) == 0o700
    blocker.rollback()
    blocker.close()
    with psycopg.connect(url, autocommit=True) as c:
        # A backend waiting on a lock notices its client is gone only once it gets the lock.
        wait_for("pg_dump's session to end", lambda: c.execute(
            "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'pg_dump'").fetchone()[0], seconds=10)
        c.execute(f'DROP TABLE "{schema}".blocker')

    monkeypatch.setattr(ctx, "settings", dataclasses.replace(ctx.settings, work_dir=work))
    assert archive.archive_tenant(ctx, admin, slug).status == "archived"  # the interrupted archive finishes

    assert not stale.exists()
    assert list(work.iterdir()) == []  # the run's own folder went too
