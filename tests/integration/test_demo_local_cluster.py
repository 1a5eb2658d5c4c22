"""The embedded demo default's second local cluster (docs/operations.md "Embedded default"): the app starts a
second server under the data directory, exports CP_CLUSTER_URL_LOCAL2 and registers cluster `local-2`
(not accepting new tenants) once; the worker and the command line on that catalog reach it too.

Each start runs in a child process, as the app does (its own environment, simulated AWS and
pgserver handles), and waits on stdin so the test can reach the URL it exported while it runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from control_plane.config import libpq_url
from control_plane.db import embedded
from control_plane.demo import local_cluster

ROOT = Path(__file__).resolve().parents[2]
APP_START = """
import json, os, sys
from sqlalchemy import select
from control_plane.db.models import AuditEntry, Cluster
from control_plane.runtime import start_runtime
ctx = start_runtime()
with ctx.session_factory() as s:
    clusters = [{"name": c.name, "url_env": c.url_env, "accepts_tenants": c.accepts_tenants}
                for c in s.scalars(select(Cluster).order_by(Cluster.name))]
    audits = s.query(AuditEntry).filter_by(action="cluster.add").count()
print(json.dumps({"url": os.environ.get("CP_CLUSTER_URL_LOCAL2"), "clusters": clusters, "audits": audits,
                  "catalog": str(ctx.embedded_server.socket_dir)}), flush=True)
sys.stdin.readline()
"""
WORKER_START = """
import json, os
from control_plane.bootstrap import bootstrap
ctx = bootstrap()
with ctx.clusters.connect("CP_CLUSTER_URL_LOCAL2") as conn:
    wal_level = conn.execute("SHOW wal_level").fetchone()[0]
print(json.dumps({"url": os.environ.get("CP_CLUSTER_URL_LOCAL2"), "wal_level": wal_level}), flush=True)
"""


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory the server user can reach (see test_embedded_db.open_dir); both servers
    under it are stopped at the end whichever engine runs them."""
    parent = Path(tempfile.mkdtemp(prefix="cp-local2-"))
    parent.chmod(0o755)
    yield parent / "data"
    for name in (embedded.PGDATA_NAME, local_cluster.PGDATA_NAME):
        if embedded.running_server(parent / "data", name) is not None:
            embedded.start(parent / "data", name=name).stop()
    shutil.rmtree(parent, ignore_errors=True)


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", local_cluster.URL_ENV)}
    env.update({"CP_DATA_DIR": str(data_dir), "CP_DEMO_TENANTS": "0", "CP_DEMO_MONTHS": "1",
                "CP_RUN_SCHEDULER_IN_APP": "0", "AWS_REGION": "us-east-1", "PYTHONPATH": str(ROOT), **extra})
    return env


def _start_app(data_dir: Path) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, "-c", APP_START], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(data_dir), cwd=ROOT)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail(f"the app did not start: {proc.communicate(timeout=60)[1][-2000:]}")
    return proc, json.loads(line)


def _stop(proc: subprocess.Popen) -> None:
    proc.communicate("\n", timeout=60)
    assert proc.returncode == 0


def test_the_demo_app_starts_and_registers_a_second_local_cluster_once(data_dir):
    app, first = _start_app(data_dir)
    try:
        pgdata = embedded.pgdata_of(data_dir, local_cluster.PGDATA_NAME)
        assert first["url"] and f"host={pgdata}" in first["url"] and first["catalog"] != str(pgdata)
        with psycopg.connect(libpq_url(first["url"])) as conn:  # the URL the app exported reaches it
            assert conn.execute("SHOW wal_level").fetchone()[0] == "logical"
            assert conn.execute("SELECT current_database()").fetchone()[0] == embedded.DATABASE_NAME
        assert first["clusters"] == [
            {"name": "default", "url_env": None, "accepts_tenants": True},
            {"name": "local-2", "url_env": "CP_CLUSTER_URL_LOCAL2", "accepts_tenants": False},
        ]
        assert first["audits"] == 1
    finally:
        _stop(app)

    app, again = _start_app(data_dir)  # a restart: same server, nothing registered twice
    try:
        assert again["url"] == first["url"]
        assert again["clusters"] == first["clusters"] and again["audits"] == 1
    finally:
        _stop(app)

    # the worker (and the command line) on this catalog: no demo set-up, but the cluster is reachable
    worker = subprocess.run([sys.executable, "-c", WORKER_START], capture_output=True, text=True,
                            env=_env(data_dir, CP_DEMO="0"), cwd=ROOT, timeout=120, check=False)
    assert worker.returncode == 0, worker.stderr[-2000:]
    assert json.loads(worker.stdout) == {"url": first["url"], "wal_level": "logical"}


def test_without_a_second_server_a_command_starts_nothing_more(data_dir):
    """The command line on an embedded catalog the demo app never set up: no second initdb."""
    worker = subprocess.run([sys.executable, "-c", "from control_plane.bootstrap import bootstrap\n"
                             "import os\nctx = bootstrap()\nprint(os.environ.get('CP_CLUSTER_URL_LOCAL2'))\n"],
                            capture_output=True, text=True, env=_env(data_dir, CP_DEMO="0"), cwd=ROOT,
                            timeout=120, check=False)
    assert worker.returncode == 0, worker.stderr[-2000:]
    assert worker.stdout.strip() == "None"
    assert not local_cluster.exists(data_dir)


def test_a_value_set_by_hand_is_replaced_and_a_foreign_local_2_is_left_alone(ctx, pg_server, data_dir, monkeypatch,
                                                                             caplog):
    """Hostile or stale inputs: CP_CLUSTER_URL_LOCAL2 already set (to a URL with a password), and
    a cluster named local-2 that an operator registered with another variable."""
    from control_plane.db.models import AuditEntry, Cluster

    secret_url = "postgresql://admin:hunter2-not-for-logs@10.0.0.9:5432/prod"
    monkeypatch.setenv(local_cluster.URL_ENV, secret_url)
    monkeypatch.setenv("CP_CLUSTER_URL_OPS", libpq_url(pg_server.url()))
    with ctx.session_factory() as s:
        s.add(Cluster(name=local_cluster.NAME, url_env="CP_CLUSTER_URL_OPS", accepts_tenants=True))
        s.commit()
    settings = dataclasses.replace(ctx.settings, data_dir=data_dir)
    local = dataclasses.replace(ctx, settings=settings, embedded_server=pg_server,
                                local_cluster_server=None)
    caplog.set_level("INFO", logger="control_plane.demo.local_cluster")
    server = local_cluster.prepare(local)
    try:
        assert os.environ[local_cluster.URL_ENV] == server.url() != secret_url
        assert "hunter2" not in caplog.text and "10.0.0.9" not in caplog.text
        assert "CP_CLUSTER_URL_LOCAL2 was set" in caplog.text and "CP_CLUSTER_URL_OPS" in caplog.text
        with ctx.session_factory() as s:
            kept = s.get(Cluster, local_cluster.NAME)
            assert (kept.url_env, kept.accepts_tenants) == ("CP_CLUSTER_URL_OPS", True)
            assert s.query(AuditEntry).filter_by(action="cluster.add").count() == 0
    finally:
        server.stop()
