"""`tenants provision|provision-many|suspend|resume|set-plan|show|list` (archive/restore: AWS area)."""

from __future__ import annotations

import csv
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from control_plane.cli import archive
from control_plane.cli.common import Progress, actor, add_actor, add_format, context, emit
from control_plane.errors import ControlPlaneError, InvalidInput
from control_plane.services import tenants as service

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
    add_actor(p)
    add_format(p)
    p.set_defaults(func=_provision)

    p = commands.add_parser("provision-many", help="provision every row of a CSV file (slug,name,plan)")
    p.add_argument("file", type=Path)
    p.add_argument("--jobs", type=int, default=2, help="tenants provisioned at once (default 2)")
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


def _emit_one(tenant: service.TenantView, fmt: str) -> int:
    emit(tenant.as_dict(), fmt, LIST_COLUMNS if fmt != "json" else None)
    return 0


def _provision(args) -> int:
    tenant = service.provision(context(), actor(args), args.slug, args.name, args.plan, cluster=args.cluster,
                               owner_email=args.owner_email, endpoint_url=args.endpoint_url)
    return _emit_one(tenant, args.format)


def _suspend(args) -> int:
    return _emit_one(service.suspend(context(), actor(args), args.slug, args.reason), args.format)


def _resume(args) -> int:
    return _emit_one(service.resume(context(), actor(args), args.slug, args.reason), args.format)


def _set_plan(args) -> int:
    return _emit_one(service.set_plan(context(), actor(args), args.slug, args.plan, args.reason), args.format)


def _show(args) -> int:
    return _emit_one(service.show(context(), actor(args), args.slug), args.format)


def _list(args) -> int:
    rows = service.list_tenants(context(), actor(args), status=args.status, plan=args.plan,
                                cluster=args.cluster, search=args.search)
    emit([t.as_dict() for t in rows], args.format, LIST_COLUMNS)
    return 0


def read_provision_csv(path: Path) -> list[dict[str, str]]:
    """Rows of slug,name,plan (optional owner_email, cluster, endpoint_url), with line numbers."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = {"slug", "name", "plan"} - set(header)
        if missing:
            raise InvalidInput(f"{path}: the header must name slug,name,plan (missing {', '.join(sorted(missing))}).")
        rows = []
        for row in reader:
            clean = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
            clean["line"] = str(reader.line_num)
            rows.append(clean)
        return rows


def _provision_many(args) -> int:
    rows = read_provision_csv(args.file)
    if args.jobs < 1 or args.jobs > 16:
        raise InvalidInput("--jobs must be between 1 and 16.")
    ctx, who = context(), actor(args)
    seen: set[str] = set()
    progress = Progress(len(rows), "provisioning")
    results: list[dict[str, str]] = []
    failed = 0

    def one(row: dict[str, str]) -> dict[str, str]:
        result = {"line": row["line"], "slug": row.get("slug", ""), "result": "ok", "message": ""}
        try:
            if row["slug"] in seen:
                raise InvalidInput(f"duplicate slug {row['slug']!r} in this file")
            seen.add(row["slug"])
            tenant = service.provision(ctx, who, row["slug"], row.get("name", ""), row.get("plan", ""),
                                       cluster=row.get("cluster") or None, owner_email=row.get("owner_email"),
                                       endpoint_url=row.get("endpoint_url"))
            result["message"] = f"{tenant.schema} on {tenant.cluster}"
        except ControlPlaneError as exc:
            result.update(result="error", message=str(exc))
        return result

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for result in pool.map(one, rows):
            failed += result["result"] != "ok"
            results.append(result)
            progress.step(failed)
    emit(results, args.format, ["line", "slug", "result", "message"])
    print(f"{len(rows) - failed} provisioned, {failed} failed", file=sys.stderr)
    return 1 if failed else 0
