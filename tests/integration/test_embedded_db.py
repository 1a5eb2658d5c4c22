"""The embedded default: pgserver, the machine's binaries as fallback, a clear error otherwise,
several processes on one data directory sharing one server, and no permission changed outside
the data directory."""

from __future__ import annotations

import builtins
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory

from control_plane.db import embedded
from control_plane.db.migrate import alembic_config
from control_plane.errors import ConfigError, DatabaseUnavailable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A data directory whose parents the server user can cross. pytest's tmp_path sits under
    /tmp/pytest-of-root (0700): as root the server user could not reach it, and we never open it."""
    path = Path(tempfile.mkdtemp(prefix="cp-embedded-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _connect(server: embedded.EmbeddedServer) -> psycopg.Connection:
    return psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres",
                           dbname=embedded.DATABASE_NAME, autocommit=True)


def test_machine_binaries_fallback_starts_reuses_and_stops(open_dir):
    tmp_path = open_dir
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


def test_two_processes_share_one_pgserver(open_dir):
    """The app and the worker started on the same data directory talk to the same server."""
    tmp_path = open_dir
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


def test_cli_on_the_embedded_default(open_dir):
    tmp_path = open_dir
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CP_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run([sys.executable, "-m", "control_plane", "db", "upgrade"], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert result.stdout.strip() == f"catalog at revision {head}"
    assert (tmp_path / "data" / "pg" / "PG_VERSION").exists()


@pytest.mark.parametrize("engine", ["auto", "binaries"])
def test_a_parent_the_server_user_cannot_cross_keeps_its_mode_and_the_error_says_why(open_dir, engine):
    """Issue 9: a 0700 folder above the data directory became 0701 (our binaries path) or 0755
    (pgserver as root). Now nothing above the data directory changes; as root, where the server
    runs as another user, starting fails with what to do instead."""
    locked = open_dir / "home"
    locked.mkdir(mode=0o700)
    locked.chmod(0o700)
    data_dir = locked / "project" / ".data"
    if os.geteuid() == 0:
        with pytest.raises(ConfigError) as err:
            embedded.start(data_dir, engine=engine)
        message = str(err.value)
        assert str(locked) in message and "0700" in message and "CP_DATA_DIR" in message
        assert f"chmod o+x {locked}" in message and "\n" not in message
    else:  # the server runs as us, and we can cross our own 0700 folder
        embedded.start(data_dir, engine=engine).stop()
    assert mode(locked) == 0o700 and mode(open_dir) == 0o755


def test_pgserver_is_not_used_where_it_would_open_parents(open_dir):
    """A parent the server user can cross (0711) but not list: the binaries engine works with it
    as it is; pgserver as root would have made it 0755, so auto does not pick pgserver then."""
    parent = open_dir / "srv"
    parent.mkdir()
    parent.chmod(0o711)
    server = embedded.start(parent / "data")
    try:
        with _connect(server) as conn:
            assert conn.execute("SELECT 1").fetchone()[0] == 1
        if os.geteuid() == 0:
            assert server.engine == "binaries"
            assert mode(parent / "data" / "pg") == 0o700
    finally:
        server.stop()
    assert mode(parent) == 0o711 and mode(open_dir) == 0o755


def test_pgserver_when_asked_for_explicitly_refuses_to_open_parents(open_dir):
    parent = open_dir / "srv"
    parent.mkdir()
    parent.chmod(0o711)
    if os.geteuid() == 0:
        with pytest.raises(ConfigError, match=r"would open permissions on .*srv"):
            embedded.start(parent / "data", engine="pgserver")
    else:
        embedded.start(parent / "data", engine="pgserver").stop()
    assert mode(parent) == 0o711
