"""`tenants archive SLUG`, `tenants archive cancel SLUG`, `tenants restore SLUG` and
`tenants request-archive SLUG --reason R`."""

from __future__ import annotations

from control_plane.cli.common import actor, add_actor, add_format, context, emit
from control_plane.errors import InvalidInput

# Handlers import the archive service (boto3, S3) when they run (a fast start: control_plane/cli/__init__.py).

COLUMNS = ["slug", "name", "status", "plan", "schema", "role", "cluster", "created_at"]


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


def _emit(tenant, fmt: str) -> int:
    emit(tenant.as_dict(), fmt, COLUMNS if fmt != "json" else None)
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

    return _emit(service.request_archive(context(), actor(args), args.slug, args.reason), args.format)
