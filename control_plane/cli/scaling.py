"""`scaling decisions [--cluster C] [--since ISO] [--limit N] --format json|csv|table`."""

from __future__ import annotations

from datetime import UTC, datetime

from control_plane.cli.common import actor, add_format, context, emit
from control_plane.errors import InvalidInput

# The handler imports the scaling queries (pandas, CloudWatch) when it runs (a fast start:
# control_plane/cli/__init__.py).

COLUMNS = ["at", "cluster", "action", "outcome", "dry_run", "current_min_acu", "current_max_acu", "new_min_acu",
           "new_max_acu", "reason", "error"]


def register(groups) -> None:
    group = groups.add_parser("scaling", help="Aurora capacity scaling")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=type(group))
    p = commands.add_parser("decisions", help="recorded capacity decisions, newest first")
    p.add_argument("--cluster")
    p.add_argument("--since", help="ISO date or time (UTC when no zone is given)")
    p.add_argument("--limit", type=int, default=200)
    add_format(p)
    p.set_defaults(func=_decisions)


def _decisions(args) -> int:
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError as exc:
            raise InvalidInput(f"--since must be an ISO date or time, got {args.since!r}.") from exc
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
    if args.limit < 1:
        raise InvalidInput("--limit must be at least 1.")
    from control_plane.scaling import queries

    rows = queries.list_decisions(context(), actor(args), cluster=args.cluster, since=since, limit=args.limit)
    emit(rows, args.format, COLUMNS)
    return 0
