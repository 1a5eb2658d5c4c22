"""The CLI read path's way to the catalog (docs/cli.md "Command line"): an embedded server is used only
when postmaster.pid says it is up and ready and its pid is alive; anything else falls back to the
bootstrap (None here). Hostile or stale files never raise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from control_plane.config import Settings
from control_plane.db import catalog_conn, embedded


def _pid_file(data_dir: Path, lines: list[str], socket: bool = True) -> Path:
    pgdata = data_dir / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    (pgdata / "postmaster.pid").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if socket:
        (pgdata / ".s.PGSQL.5432").touch()
    return pgdata.resolve()


def _lines(pgdata: Path, pid: int, status: str = "ready   ", port: str = "5432") -> list[str]:
    return [str(pid), str(pgdata), "1796002281", port, str(pgdata), "", "  4336165    851975", status]


def test_a_ready_server_with_a_live_pid_is_found(tmp_path):
    pgdata = (tmp_path / "pg").resolve()
    _pid_file(tmp_path, _lines(pgdata, os.getpid()))
    assert embedded.running_server(tmp_path) == (pgdata, 5432)


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    return int(child.stdout)  # reaped: nothing runs under it now (reuse this soon is vanishingly rare)


@pytest.mark.parametrize("case", ["no file", "dead pid", "starting", "stopping", "no socket", "short",
                                  "garbage", "binary", "negative pid", "relative socket dir", "bad port"])
def test_anything_off_means_no_server_and_no_error(tmp_path, case):
    pgdata = (tmp_path / "pg").resolve()
    lines = _lines(pgdata, os.getpid())
    if case == "no file":
        assert embedded.running_server(tmp_path) is None
        return
    socket = case != "no socket"
    if case == "dead pid":
        lines[0] = str(_dead_pid())
    elif case in ("starting", "stopping"):
        lines[7] = case
    elif case == "short":
        lines = lines[:4]
    elif case == "garbage":
        lines = ["not a pid", "x", "y", "z", "w", "", "", "ready"]
    elif case == "negative pid":
        lines[0] = "-1"
    elif case == "relative socket dir":
        lines[4] = "pg"
    elif case == "bad port":
        lines[3] = "5432; DROP TABLE x"
    _pid_file(tmp_path, lines, socket)
    if case == "binary":
        (pgdata / "postmaster.pid").write_bytes(b"\xff\xfe\x00garbage")
    assert embedded.running_server(tmp_path) is None


def test_no_running_server_means_the_bootstrap(tmp_path):
    settings = Settings.from_env({"CP_DATA_DIR": str(tmp_path)})
    assert catalog_conn.catalog_conninfo(settings) is None
    assert catalog_conn.connect_current(settings) is None


def test_database_url_is_used_in_libpq_form():
    settings = Settings.from_env({"DATABASE_URL": "postgresql://u:p@db.example:5433/cat"})
    assert catalog_conn.catalog_conninfo(settings) == "postgresql://u:p@db.example:5433/cat"
