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


def _settings(server: embedded.EmbeddedServer) -> tuple[str, str, object]:
    """(wal_level, max_wal_senders, postmaster start time) of a running server."""
    with _connect(server) as conn:
        return (conn.execute("SHOW wal_level").fetchone()[0], conn.execute("SHOW max_wal_senders").fetchone()[0],
                conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0])


def _turn_logical_off(server: embedded.EmbeddedServer) -> None:
    """What a data directory made before logical replication was on looks like (an operator's
    ALTER SYSTEM has the same effect and takes precedence over postgresql.conf)."""
    with _connect(server) as conn:
        conn.execute("ALTER SYSTEM SET wal_level = 'replica'")
        conn.execute("ALTER SYSTEM SET max_wal_senders = 5")


@pytest.mark.parametrize("engine", ["binaries", "auto"])
def test_a_new_embedded_server_runs_with_logical_replication(open_dir, engine, caplog):
    """docs/operations.md "Moving a tenant": online moves need wal_level=logical on both servers."""
    caplog.set_level("INFO", logger="control_plane.db.embedded")
    server = embedded.start(open_dir, engine=engine)
    try:
        wal_level, senders, _ = _settings(server)
        assert (wal_level, senders) == ("logical", "20")
        with _connect(server) as conn:
            assert embedded.missing_logical_settings(conn) == {}
        restarts = [r for r in caplog.records if "restarting" in r.getMessage()]
        if server.engine == "binaries":  # configured at initdb: no restart
            assert restarts == []
        else:  # pgserver's own initdb starts it first: one restart, not worth a warning
            assert [r.levelname for r in restarts] == ["INFO"]
    finally:
        server.stop()


@pytest.mark.parametrize("engine", ["binaries", "auto"])
def test_a_data_directory_from_before_gets_logical_replication_on_its_next_start(open_dir, engine, caplog):
    server = embedded.start(open_dir, engine=engine)
    _turn_logical_off(server)
    server.stop()
    caplog.set_level("INFO", logger="control_plane.db.embedded")
    again = embedded.start(open_dir, engine=engine)
    try:
        assert _settings(again)[:2] == ("logical", "20")
        assert any(r.levelname == "WARNING" and "wal_level=logical" in r.getMessage() for r in caplog.records)
        if again.engine == "pgserver":  # its handle follows the new postmaster, or stop() would not stop it
            postmaster = (embedded.pgdata_of(open_dir) / "postmaster.pid").read_text().split()
            assert again.handle.get_postmaster_info().pid == int(postmaster[0])
    finally:
        again.stop()
    assert embedded.running_server(open_dir) is None  # stop() still stops the restarted server (pgserver too)
    caplog.clear()
    third = embedded.start(open_dir, engine=engine)  # kept in postgresql.auto.conf: no second restart
    try:
        assert _settings(third)[0] == "logical"
        assert not [r for r in caplog.records if "restarting" in r.getMessage()]
    finally:
        third.stop()


def test_a_running_server_without_logical_replication_is_restarted_once(open_dir):
    """Another process (an app started before this change) keeps the server up: the next start
    restarts it with the settings; the start after that only attaches."""
    server = embedded.start(open_dir, engine="binaries")
    try:
        _turn_logical_off(server)
        pgdata = embedded.pgdata_of(open_dir)
        restarted = embedded._run_as_data_owner(pgdata, [str(server.bin_dir / "pg_ctl"), "-D", str(pgdata), "-l",
                                                         str(pgdata / "server.log"), "-w", "restart"])
        assert restarted.returncode == 0, restarted.stderr
        wal_level, _, before = _settings(server)
        assert wal_level == "replica"
        embedded.start(open_dir, engine="binaries")
        wal_level, senders, after = _settings(server)
        assert (wal_level, senders) == ("logical", "20") and after > before
        embedded.start(open_dir, engine="binaries")
        assert _settings(server)[2] == after
    finally:
        server.stop()


def test_two_independent_servers_side_by_side_under_one_data_directory(open_dir):
    """The demo's second local cluster: another name under the same data directory, its own
    socket folder and postmaster, both on port 5432 (unix sockets only)."""
    first = embedded.start(open_dir)
    second = embedded.start(open_dir, first.engine, name="pg-cluster2")
    try:
        assert second.socket_dir == embedded.pgdata_of(open_dir, "pg-cluster2") != first.socket_dir
        with _connect(first) as a, _connect(second) as b:
            a.execute("CREATE TABLE only_here (v int)")
            assert b.execute("SELECT to_regclass('only_here')").fetchone()[0] is None
            assert a.execute("SELECT pg_postmaster_start_time()").fetchone() != \
                b.execute("SELECT pg_postmaster_start_time()").fetchone()
        assert _settings(second)[0] == "logical"
        assert embedded.running_server(open_dir, "pg-cluster2") == (second.socket_dir, second.port)
        second.stop()
        assert embedded.running_server(open_dir, "pg-cluster2") is None
        assert _settings(first)[0] == "logical"  # the catalog's server runs on
    finally:
        if embedded.running_server(open_dir, "pg-cluster2"):
            second.stop()
        first.stop()


def test_two_processes_starting_together_on_a_server_without_logical_replication(open_dir):
    """The app and the worker start at once on a data directory from before: one of them restarts
    the server, the other waits for that and attaches to the restarted server (never a
    postmaster of its own, never a failed start)."""
    server = embedded.start(open_dir)
    engine = server.engine
    _turn_logical_off(server)
    server.stop()
    script = (
        "import sys, psycopg\n"
        "from pathlib import Path\n"
        "from control_plane.db import embedded\n"
        "s = embedded.start(Path(sys.argv[1]), sys.argv[2])\n"
        "with psycopg.connect(host=str(s.socket_dir), port=s.port, user='postgres', dbname='postgres') as c:\n"
        "    print(c.execute('SELECT pg_postmaster_start_time()').fetchone()[0],\n"
        "          c.execute('SHOW wal_level').fetchone()[0], flush=True)\n"
        "sys.stdin.readline()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(open_dir), engine], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
             for _ in range(2)]
    try:
        seen = [proc.stdout.readline().strip() for proc in procs]
        assert all(seen), [proc.stderr.read() for proc in procs if proc.poll() is not None]
        assert seen[0] == seen[1] and seen[0].endswith(" logical")
    finally:
        for proc in procs:
            proc.communicate("\n", timeout=60)
    assert [proc.returncode for proc in procs] == [0, 0]
    if embedded.running_server(open_dir) is not None:  # the binaries engine keeps it up
        embedded.start(open_dir, engine).stop()
