"""`python -m control_plane <group> <command>`: exit 0 on success; one line on stderr and a
non-zero exit for bad input or failure (never a traceback for an expected error).

Start-up is kept small (docs/cli.md "Command line"): building the parser imports no service, adapter,
SQLAlchemy, pandas or boto3; each handler imports what its command uses when it runs
(tests/integration/test_cli_startup.py).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from control_plane import demo_package, redact
from control_plane.cli import backup, billing, clusters, db, scaling, tenants, uptime, users
from control_plane.cli.common import CliParser, close_context
from control_plane.errors import ControlPlaneError

GROUPS = (db, tenants, users, billing, uptime, clusters, scaling, backup)


def groups() -> tuple[ModuleType, ...]:
    """The command groups; `demo` only where the demo package is installed (not the production image)."""
    if not demo_package.installed():
        return GROUPS
    return (*GROUPS, importlib.import_module("control_plane.cli.demo"))


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m control_plane", description="Control Plane operations.")
    subparsers = parser.add_subparsers(dest="group", metavar="GROUP", required=True, parser_class=CliParser)
    for module in groups():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    redact.install()  # credentials never reach a log line (docs/troubleshooting.md "Troubleshooting")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ControlPlaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if (reason := _database_unavailable(exc)) is None:
            raise
        print(f"error: database unavailable: {reason}", file=sys.stderr)
        return 7
    finally:
        close_context()


def _database_unavailable(exc: Exception) -> str | None:
    """The reason of a lost database connection, else None. SQLAlchemy is imported here, not at
    start: `--help` and bad arguments never load it, and a failing command has loaded it already.
    A read command on its own psycopg connection (no SQLAlchemy) fails with psycopg's error."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.OperationalError):
        return _first_line(exc) or "connection failed"
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import OperationalError

    if not isinstance(exc, OperationalError):
        return None
    return _first_line(exc.orig) if exc.orig else "connection failed"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""
