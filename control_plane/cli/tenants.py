"""`tenants provision|provision-many|suspend|resume|set-plan|show|list` (archive/restore: AWS area)."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

from control_plane import csv_safety
from control_plane.auth.permissions import Permission
from control_plane.cli import archive, fleet, moves
from control_plane.cli.common import (
    Progress,
    actor,
    add_actor,
    add_format,
    context,
    emit,
    emit_stream,
    read_connection,
)
from control_plane.core.records import record
from control_plane.errors import InvalidInput

if TYPE_CHECKING:
    from control_plane.core.tenant_view import TenantView
    from control_plane.services import tenant_batch

# Handlers import the services they call (a fast start: control_plane/cli/__init__.py).

LIST_COLUMNS = ["slug", "name", "status", "plan", "schema", "role", "cluster", "created_at"]


def register(groups) -> None:
    group = groups.add_parser("tenants", help="tenant lifecycle")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=type(group))

    p = commands.add_parser("provision", help="create a tenant's schema and role")
    p.add_argument("slug")
    p.add_argument("--name", required=True)
    p.add_argument("--plan", required=True)
    p.add_argument("--cluster")
    p.add_argument("--owner-email")
    p.add_argument("--endpoint-url")
    p.add_argument("--template-version", type=int, help="create the schema at this older template version "
                                                         "(a rollout rehearsal; default the latest)")
    _add_allow_unsafe(p)
    add_actor(p)
    add_format(p)
    p.set_defaults(func=_provision)

    p = commands.add_parser("provision-many", help="provision every row of a CSV file (slug,name,plan)")
    p.add_argument("file", type=Path)
    p.add_argument("--jobs", type=int, default=2, help="tenants provisioned at once (default 2)")
    _add_allow_unsafe(p)
    add_actor(p)
    add_format(p)
    p.set_defaults(func=_provision_many)

    p = commands.add_parser("suspend", help="revoke the tenant role's access; every row is kept")
    p.add_argument("slug")
    p.add_argument("--reason", required=True)
    add_actor(p)
    add_format(p)
    p.set_defaults(func=_suspend)

    p = commands.add_parser("resume", help="give a suspended tenant its access back")
    p.add_argument("slug")
    p.add_argument("--reason")
    add_actor(p)
    add_format(p)
    p.set_defaults(func=_resume)

    p = commands.add_parser("set-plan", help="change a tenant's plan")
    p.add_argument("slug")
    p.add_argument("plan")
    p.add_argument("--reason")
    add_actor(p)
    add_format(p)
    p.set_defaults(func=_set_plan)

    p = commands.add_parser("show", help="one tenant")
    p.add_argument("slug")
    add_format(p, default="json")
    p.set_defaults(func=_show)

    p = commands.add_parser("list", help="tenants, filtered")
    p.add_argument("--status")
    p.add_argument("--plan")
    p.add_argument("--cluster")
    p.add_argument("--search")
    add_format(p)
    p.set_defaults(func=_list)

    archive.register_tenant_commands(commands)
    fleet.register_tenant_commands(commands)
    moves.register_tenant_commands(commands)


def _emit_one(tenant: TenantView, fmt: str) -> int:
    emit(record(tenant), fmt, LIST_COLUMNS if fmt != "json" else None)
    return 0


def _add_allow_unsafe(parser) -> None:
    parser.add_argument("--allow-unsafe-cluster", action="store_true",
                        help="provision even on a cluster that fails `clusters check` (the override is audited)")


def _provision(args) -> int:
    from control_plane.services import tenants as service

    tenant = service.provision(context(), actor(args), args.slug, args.name, args.plan, cluster=args.cluster,
                               owner_email=args.owner_email, endpoint_url=args.endpoint_url,
                               template_version=args.template_version,
                               allow_unsafe_cluster=args.allow_unsafe_cluster)
    return _emit_one(tenant, args.format)


def _suspend(args) -> int:
    from control_plane.services import tenants as service

    return _emit_one(service.suspend(context(), actor(args), args.slug, args.reason), args.format)


def _resume(args) -> int:
    from control_plane.services import tenants as service

    return _emit_one(service.resume(context(), actor(args), args.slug, args.reason), args.format)


def _set_plan(args) -> int:
    from control_plane.services import tenants as service

    return _emit_one(service.set_plan(context(), actor(args), args.slug, args.plan, args.reason), args.format)


def _show(args) -> int:
    who = actor(args)
    if (conn := read_connection(who, Permission.TENANTS_READ)) is not None:
        from control_plane.services import tenant_reads  # the service's own query, without SQLAlchemy

        with conn:
            return _emit_one(tenant_reads.show(conn, args.slug), args.format)
    from control_plane.services import tenants as service

    return _emit_one(service.show(context(), who, args.slug), args.format)


def _list(args) -> int:
    who = actor(args)
    filters = {"status": args.status, "plan": args.plan, "cluster": args.cluster, "search": args.search}
    if (conn := read_connection(who, Permission.TENANTS_READ)) is not None:
        from control_plane.services import tenant_reads

        with conn:
            wanted = tenant_reads.filters(**filters)  # checked before the first line is written
            emit_stream((record(t) for t in tenant_reads.stream_tenants(conn, wanted)), args.format, LIST_COLUMNS)
        return 0
    from control_plane.services import tenants as service

    emit_stream((record(t) for t in service.stream_tenants(context(), who, **filters)), args.format, LIST_COLUMNS)
    return 0


def _provision_many(args) -> int:
    from control_plane.services import tenant_batch

    if args.jobs < 1 or args.jobs > 16:
        raise InvalidInput("--jobs must be between 1 and 16.")
    rows = tenant_batch.read_file(args.file)  # the whole file is checked before anything is provisioned
    ctx, who = context(), actor(args)
    progress = Progress(len(rows), "provisioning")
    out = _ResultStream(args.format)
    counts: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        pending = [pool.submit(tenant_batch.provision_row, ctx, who, row,
                               allow_unsafe_cluster=args.allow_unsafe_cluster) for row in rows]
        try:
            for done in as_completed(pending):
                result = done.result()
                out.write(result)  # as each row finishes: a killed run leaves a record of what it did
                counts[result.result] += 1
                progress.step(counts[tenant_batch.ERROR])
        except BaseException:
            for future in pending:  # the database went away, ^C: start no further rows
                future.cancel()
            raise
        finally:
            out.close()
    print(f"{counts[tenant_batch.PROVISIONED]} provisioned, {counts[tenant_batch.EXISTS]} already existed, "
          f"{counts[tenant_batch.ERROR]} failed", file=sys.stderr)
    return 1 if counts[tenant_batch.ERROR] else 0


class _ResultStream:
    """Per-row results on stdout, each flushed as it is written; json is an array written one
    object per line, csv and table start with their header."""

    COLUMNS = ("line", "slug", "result", "message")
    WIDTHS = (5, 40, 7)

    def __init__(self, fmt: str) -> None:
        self.fmt, self.rows = fmt, 0
        if fmt == "csv":
            self.csv = csv.writer(sys.stdout, lineterminator="\n")
            self.csv.writerow(self.COLUMNS)
        elif fmt == "table":
            self._line(self.COLUMNS)
            self._line(["-" * w for w in (*self.WIDTHS, 7)])
        sys.stdout.flush()

    def write(self, result: tenant_batch.RowResult) -> None:
        cells = [str(result.line), result.slug, result.result, result.message]
        if self.fmt == "json":
            sys.stdout.write(("[\n" if not self.rows else ",\n") + "  " + json.dumps(result.as_dict()))
        elif self.fmt == "csv":
            self.csv.writerow([csv_safety.cell(c) for c in cells])
        else:
            self._line(cells)
        self.rows += 1
        sys.stdout.flush()

    def close(self) -> None:
        if self.fmt == "json":
            sys.stdout.write("\n]\n" if self.rows else "[]\n")
        sys.stdout.flush()

    def _line(self, cells) -> None:
        print("  ".join(c.ljust(w) for c, w in zip(cells, self.WIDTHS, strict=False)) + "  " + cells[-1])
