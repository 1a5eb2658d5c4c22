"""The CLI's last line of defence for a connection lost mid-command (exit 7, docs/cli.md "Command line"):
SQLAlchemy is no longer imported when the CLI starts, so the check imports it only when a command
has failed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy.exc import OperationalError, ProgrammingError

from control_plane.cli import _database_unavailable

ROOT = Path(__file__).resolve().parents[2]


def test_a_lost_connection_gives_the_first_line_of_the_server_message():
    lost = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly\n\tdetail"))
    assert _database_unavailable(lost) == "server closed the connection unexpectedly"


def test_other_errors_are_not_called_a_lost_database():
    assert _database_unavailable(ProgrammingError("SELECT 1", {}, Exception("syntax error"))) is None
    assert _database_unavailable(ValueError("bug")) is None


def test_starting_the_cli_does_not_load_sqlalchemy():
    done = subprocess.run([sys.executable, "-c", "import sys, control_plane.cli\n"
                           "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'psycopg')))"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_a_read_command_on_its_own_psycopg_connection_also_exits_7_in_one_line():
    import psycopg

    lost = psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly\n\tdetail")
    assert _database_unavailable(lost) == "consuming input failed: server closed the connection unexpectedly"
    assert _database_unavailable(psycopg.errors.UndefinedTable("relation missing")) is None
