"""`python -m control_plane <group> <command>`: exit 0 on success; one line on stderr and a
non-zero exit for bad input or failure (never a traceback for an expected error)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from control_plane import redact
from control_plane.cli import billing, clusters, db, demo, scaling, tenants, uptime, users
from control_plane.cli.common import CliParser, close_context
from control_plane.errors import ControlPlaneError

GROUPS = (db, tenants, users, billing, uptime, clusters, scaling, demo)


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m control_plane", description="Control Plane operations.")
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True, parser_class=CliParser)
    for module in GROUPS:
        module.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    redact.install()  # credentials never reach a log line (README "Troubleshooting")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ControlPlaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        print(f"error: database unavailable: {reason}", file=sys.stderr)
        return 7
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    finally:
        close_context()
