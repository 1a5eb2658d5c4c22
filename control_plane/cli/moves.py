"""`tenants move SLUG --to CLUSTER`, `tenants move cancel|status SLUG`, `tenants moves`
(docs/moves.md). Handlers import the move services when they run (a fast start)."""

from __future__ import annotations

import sys

from control_plane.cli.common import actor, add_actor, add_format, context, emit
from control_plane.errors import InvalidInput

ACTIONS = ("cancel", "status")
HISTORY_COLUMNS = ["id", "tenant", "source", "target", "mode", "status", "step", "writes_blocked_ms",
                   "created_by", "created_at", "finished_at", "error"]


def register_tenant_commands(commands) -> None:
    p = commands.add_parser(
        "move", help="move a tenant to another cluster (online by logical replication, or --offline); "
                     "`move cancel|status SLUG`",
        usage="%(prog)s SLUG --to CLUSTER [--offline] | %(prog)s cancel SLUG | %(prog)s status SLUG")
    p.add_argument("words", nargs="+", metavar="SLUG", help="the tenant (or: cancel SLUG, status SLUG)")
    p.add_argument("--to", dest="target", help="the cluster to move to (see `clusters list`)")
    p.add_argument("--offline", action="store_true",
                   help="dump and load with the tenant's writes blocked throughout (when logical replication "
                        "is not available)")
    p.add_argument("--sync-timeout", type=float, default=3600, metavar="S",
                   help="how long the initial copy and catch-up may take, in seconds (default 3600)")
    add_actor(p)
    add_format(p, default="json", choices=("json",))
    p.set_defaults(func=_move)

    p = commands.add_parser("moves", help="moves, newest first")
    p.add_argument("--tenant", help="only this tenant's moves")
    p.add_argument("--limit", type=int, default=100)
    add_format(p)
    p.set_defaults(func=_history)


def _move(args) -> int:
    from control_plane.moves import service

    words = args.words
    if len(words) == 2 and words[0] in ACTIONS:
        action, slug = words
    elif len(words) == 1:
        action, slug = None, words[0]
    else:
        raise InvalidInput("Use `tenants move SLUG --to CLUSTER`, `tenants move cancel SLUG` or "
                           "`tenants move status SLUG`.")
    ctx, who = context(), actor(args)
    if action == "status":
        move = service.current(ctx, who, slug)
        if move is None:
            raise InvalidInput(f"Tenant {slug!r} has never been moved.")
        emit(move.as_dict(), "json")
        return 0
    if action == "cancel":
        move = service.cancel(ctx, who, slug)
        print(f"move #{move.id} of {slug}: {move.status}" + ("" if move.status != "running" else
              " (cancel asked for; the process driving it undoes it at its next step)"), file=sys.stderr)
        emit(move.as_dict(), "json")
        return 0 if move.status == "cancelled" else 1
    if not args.target:
        raise InvalidInput("Name the cluster to move to: `tenants move SLUG --to CLUSTER` (see `clusters list`).")
    if not 1 <= args.sync_timeout <= 7 * 24 * 3600:
        raise InvalidInput("--sync-timeout must be between 1 and 604800 seconds.")
    options = service.MoveOptions(offline=args.offline, sync_timeout_s=args.sync_timeout)

    def progress(message: str) -> None:
        print(f"{slug}: {message}", file=sys.stderr, flush=True)

    move = service.start(ctx, who, slug, args.target, options, progress=progress)
    blocked = f"; writes blocked {move.writes_blocked_ms} ms" if move.writes_blocked_ms is not None else ""
    print(f"move #{move.id} of {slug} to {move.target}: {move.status}{blocked}", file=sys.stderr)
    emit(move.as_dict(), "json")
    return 0 if move.status == "completed" else 1


def _history(args) -> int:
    from control_plane.moves import service

    if not 1 <= args.limit <= 10_000:
        raise InvalidInput("--limit must be between 1 and 10000.")
    moves = service.history(context(), actor(args), args.tenant, args.limit)
    emit([m.as_dict() for m in moves], args.format, HISTORY_COLUMNS)
    return 0
