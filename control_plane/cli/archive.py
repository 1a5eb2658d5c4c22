"""`tenants archive SLUG`, `tenants archive cancel SLUG`, `tenants restore SLUG`,
`tenants request-archive SLUG --reason R`, `tenants archive-requests` (the pending queue) and
`tenants decline-archive SLUG --reason R`. Archiving a tenant approves its pending request."""

from __future__ import annotations

from control_plane.cli.common import actor, add_actor, add_format, context, emit
from control_plane.core.records import record
from control_plane.errors import InvalidInput

# Handlers import the archive service (boto3, S3) when they run (a fast start: control_plane/cli/__init__.py).

COLUMNS = ["slug", "name", "status", "plan", "schema", "role", "cluster", "created_at"]
REQUEST_COLUMNS = ["slug", "tenant_status", "requested_by", "requested_at", "reason", "status", "decided_by",
                   "decided_at", "decision_reason"]


def register_tenant_commands(commands) -> None:
    """Add the archive/restore sub-commands to the `tenants` group."""
    p = commands.add_parser("archive", usage="%(prog)s [-h] [--actor ACTOR] [--format {json,csv,table}] [cancel] SLUG",
                            help="dump the schema to S3, verify it, then drop schema and role; "
                                 "`archive cancel SLUG` puts an archiving tenant back as it was")
    # "cancel" is also a valid slug, so the words are told apart by how many there are.
    p.add_argument("words", nargs="+", metavar="[cancel] SLUG")
    add_actor(p)
    add_format(p)
    p.set_defaults(func=_archive)

    p = commands.add_parser("restore", help="bring an archived tenant back with every row")
    p.add_argument("slug")
    add_actor(p)
    add_format(p)
    p.set_defaults(func=_restore)

    p = commands.add_parser("request-archive", help="ask an admin to archive a tenant (audited)")
    p.add_argument("slug")
    p.add_argument("--reason", required=True)
    add_actor(p)
    add_format(p)
    p.set_defaults(func=_request)

    p = commands.add_parser("archive-requests",
                            help="pending archive requests, oldest first (approve: `tenants archive SLUG`)")
    add_format(p, choices=("json", "table"))
    p.set_defaults(func=_requests)

    p = commands.add_parser("decline-archive", help="decline a tenant's pending archive request (audited)")
    p.add_argument("slug")
    p.add_argument("--reason", required=True, help="shown to whoever asked")
    add_actor(p)
    add_format(p)
    p.set_defaults(func=_decline)


def _emit(tenant, fmt: str) -> int:
    emit(record(tenant), fmt, COLUMNS if fmt != "json" else None)
    return 0


def _archive(args) -> int:
    from control_plane.archive import service

    words = args.words
    if len(words) == 1:
        return _emit(service.archive_tenant(context(), actor(args), words[0]), args.format)
    if len(words) == 2 and words[0] == "cancel":
        return _emit(service.cancel_archive(context(), actor(args), words[1]), args.format)
    raise InvalidInput("Use `tenants archive SLUG` or `tenants archive cancel SLUG`.")


def _restore(args) -> int:
    from control_plane.archive import service

    return _emit(service.restore_tenant(context(), actor(args), args.slug), args.format)


def _request(args) -> int:
    from control_plane.archive import service

    return _emit_request(service.request_archive(context(), actor(args), args.slug, args.reason), args.format)


def _requests(args) -> int:
    from control_plane.archive import service

    pending = [record(r) for r in service.pending_archive_requests(context(), actor(args))]
    if not pending and args.format == "table":
        print("No pending archive requests.")
        return 0
    emit(pending, args.format, REQUEST_COLUMNS[:5] if args.format != "json" else None)
    return 0


def _decline(args) -> int:
    from control_plane.archive import service

    return _emit_request(service.decline_archive_request(context(), actor(args), args.slug, args.reason), args.format)


def _emit_request(request, fmt: str) -> int:
    emit(record(request), fmt, REQUEST_COLUMNS if fmt != "json" else None)
    return 0
