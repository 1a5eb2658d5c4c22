"""The embedded default: pgserver, the machine's binaries as fallback, a clear error otherwise,
and several processes on one data directory sharing one server."""

from __future__ import annotations

import builtins
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory

from control_plane.db import embedded
from control_plane.db.migrate import alembic_config
from control_plane.errors import DatabaseUnavailable

ROOT = Path(__file__).resolve().parents[2]


def _connect(server: embedded.EmbeddedServer) -> psycopg.Connection:
    return psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres",
                           dbname=embedded.DATABASE_NAME, autocommit=True)


def test_machine_binaries_fallback_starts_reuses_and_stops(tmp_path):
    assert embedded.find_postgres_binaries() is not None, "PostgreSQL binaries must be installed on this machine"
    server = embedded.start(tmp_path, engine="binaries")
    try:
        with _connect(server) as conn:
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            started = conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
            conn.execute("CREATE TABLE kept (v int)")
            conn.execute("INSERT INTO kept VALUES (42)")
            assert pid > 0
        again = embedded.start(tmp_path, engine="binaries")  # a second process on the same directory
        with _connect(again) as conn:
            assert conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0] == started
    finally:
        server.stop()
    restarted = embedded.start(tmp_path, engine="binaries")  # data kept across restarts
    try:
        with _connect(restarted) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone()[0] == 42
    finally:
        restarted.stop()


def test_no_server_available_gives_one_clear_paragraph(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_pgserver(name, *args, **kwargs):
        if name == "pgserver" or name.startswith("pgserver."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pgserver)
    monkeypatch.setattr(embedded, "find_postgres_binaries", lambda: None)
    with pytest.raises(DatabaseUnavailable) as err:
        embedded.start(tmp_path)
    message = str(err.value)
    assert "DATABASE_URL=postgresql://" in message and "pgserver" in message and "\n" not in message


def test_two_processes_share_one_pgserver(tmp_path):
    """The app and the worker started on the same data directory talk to the same server."""
    script = (
        "import sys, psycopg\n"
        "from pathlib import Path\n"
        "from control_plane.db import embedded\n"
        "s = embedded.start(Path(sys.argv[1]))\n"
        "with psycopg.connect(host=str(s.socket_dir), port=s.port, user='postgres', dbname='control_plane') as c:\n"
        "    print(c.execute('SELECT pg_postmaster_start_time()').fetchone()[0], flush=True)\n"
        "sys.stdin.readline()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    second = None
    try:
        started_first = first.stdout.readline().strip()
        second = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        started_second = second.stdout.readline().strip()
        assert started_first and started_first == started_second
    finally:
        for proc in (second, first):
            if proc is not None:
                proc.communicate("\n", timeout=60)


def test_cli_on_the_embedded_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CP_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run([sys.executable, "-m", "control_plane", "db", "upgrade"], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert result.stdout.strip() == f"catalog at revision {head}"
    assert (tmp_path / "data" / "pg" / "PG_VERSION").exists()
