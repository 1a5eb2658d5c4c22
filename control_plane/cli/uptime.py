"""`uptime import FILE.csv` and `uptime report --from ISO --to ISO --format json`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from control_plane.cli.common import actor, add_actor, context, emit
from control_plane.errors import InvalidInput

# Handlers import the uptime modules when they run (a fast start: control_plane/cli/__init__.py).


def register(groups) -> None:
    group = groups.add_parser("uptime", help="health-check history and uptime reports")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=type(group))

    p = commands.add_parser("import", help="import check results (target,checked_at,ok,latency_ms)")
    p.add_argument("file", type=Path)
    add_actor(p)
    p.set_defaults(func=_import)

    p = commands.add_parser("report", help="uptime, incidents, MTTR and p95 latency per target over [from, to)")
    p.add_argument("--from", dest="start", required=True, help="ISO-8601 start (inclusive), e.g. 2025-01-01T00:00Z")
    p.add_argument("--to", dest="end", required=True, help="ISO-8601 end (exclusive)")
    p.add_argument("--format", choices=("json", "csv", "table"), default="json")
    add_actor(p)
    p.set_defaults(func=_report)


def parse_instant(value: str, flag: str) -> datetime:
    """ISO-8601 date or date-time; without a zone it is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{flag} {value!r} is not an ISO-8601 date or date-time "
                           "(e.g. 2025-01-01T00:00:00Z).") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _import(args) -> int:
    from control_plane.uptime import importer

    # checked_at may be at most a day ahead of the clock of the machine running the import
    result = importer.import_file(context(), actor(args), args.file, now=datetime.now(UTC))
    span = f" from {result.first.isoformat()} to {result.last.isoformat()}" if result.first and result.last else ""
    print(f"imported {result.rows} checks for {result.targets} targets{span}"
          f" ({result.replaced} replaced, {result.incidents_found} new incidents)", file=sys.stderr)
    return 0


def _report(args) -> int:
    from control_plane.uptime.report import FIELDS, report

    rows = report(context(), actor(args), parse_instant(args.start, "--from"), parse_instant(args.end, "--to"))
    emit(rows, args.format, FIELDS)
    return 0
