"""`clusters add NAME --url-env ENV_VAR [--aurora-cluster ID] [--acu-floor F] [--acu-ceiling C]`,
`clusters list --format json|csv|table`, `clusters check NAME [--fix] [--format json|table]` and
`clusters drift [--format json|csv|table]` (catalog vs clusters, every item; exit 1 when any)."""

from __future__ import annotations

import argparse
import sys

from control_plane.cli.common import actor, add_actor, add_format, context, emit
from control_plane.errors import InvalidInput

# Handlers import the clusters service when they run (a fast start: control_plane/cli/__init__.py).

COLUMNS = ["name", "url_env", "aurora_cluster_id", "acu_floor", "acu_ceiling", "capacity_weight",
           "accepts_tenants", "live_tenants"]


def register(groups) -> None:
    group = groups.add_parser("clusters", help="PostgreSQL clusters that hold tenant schemas")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=type(group))

    p = commands.add_parser("add", help="register a cluster (its URL stays in the named environment variable)")
    p.add_argument("name")
    p.add_argument("--url-env", required=True, metavar="ENV_VAR", type=_url_env,
                   help="DATABASE_URL or CP_CLUSTER_URL_<NAME>: the variable holding the cluster's postgresql:// URL")
    p.add_argument("--aurora-cluster", metavar="ID", help="Aurora DB cluster identifier, for capacity scaling")
    p.add_argument("--acu-floor", metavar="F", help="lowest max ACU the scaler may set (default from settings)")
    p.add_argument("--acu-ceiling", metavar="C", help="highest max ACU the scaler may set (default from settings)")
    p.add_argument("--capacity-weight", default="1", help="relative size for tenant placement (default 1)")
    p.add_argument("--no-verify", action="store_true",
                   help="register without connecting to the cluster or describing the Aurora cluster")
    add_actor(p)
    add_format(p)
    p.set_defaults(func=_add)

    p = commands.add_parser("list", help="registered clusters and their live tenants")
    add_format(p)
    p.set_defaults(func=_list)

    p = commands.add_parser("check", help="the cluster's security posture; exit 1 when an item fails")
    p.add_argument("name")
    p.add_argument("--fix", action="store_true",
                   help="revoke what can be revoked (one transaction, audited); the rest is named with its SQL")
    add_actor(p)
    add_format(p, choices=("json", "table"))
    p.set_defaults(func=_check)


    p = commands.add_parser("drift", help="catalog vs clusters: every drift item (the reconcile job's alert "
                                          "lists the first 200); exit 1 when there is any")
    add_format(p)
    p.set_defaults(func=_drift)


def _url_env(value: str) -> str:
    """Refused before anything connects: naming another secret here (AWS_SECRET_ACCESS_KEY) would
    have it read as a connection string. The service checks the same rule."""
    from control_plane.services import clusters as service

    try:
        return service.check_url_env(value)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add(args) -> int:
    from control_plane.services import clusters as service

    view = service.add_cluster(context(), actor(args), args.name, args.url_env,
                               aurora_cluster_id=args.aurora_cluster, acu_floor=args.acu_floor,
                               acu_ceiling=args.acu_ceiling, capacity_weight=args.capacity_weight,
                               verify=not args.no_verify)
    emit(view.as_dict(), args.format, COLUMNS if args.format != "json" else None)
    if not args.no_verify:  # registered either way; its posture is reported (docs/operations.md "Clusters")
        from control_plane.services import cluster_posture

        report = cluster_posture.check(context(), actor(args), view.name)
        failing = report.failing
        print(f"cluster {view.name}: posture {report.status}"
              + (f" ({len(failing)} failing; provisioning there is refused until fixed: "
                 f"`clusters check {view.name} --fix`)" if failing else ""), file=sys.stderr)
        _print_items(report, only_problems=True)
    return 0


def _list(args) -> int:
    from control_plane.services import clusters as service

    emit([c.as_dict() for c in service.list_clusters(context(), actor(args))], args.format, COLUMNS)
    return 0


def _check(args) -> int:
    from control_plane.services import cluster_posture as service

    if args.fix:
        result = service.fix(context(), actor(args), args.name)
        report = result.after
        for statement in result.statements:
            print(f"ran: {statement}", file=sys.stderr)
        payload = result.as_dict()
    else:
        report = service.check(context(), actor(args), args.name)
        payload = report.as_dict()
    if args.format == "json":
        emit(payload, "json")
    else:
        print(f"cluster {report.cluster} (database {report.database}, PostgreSQL {report.server_version}): "
              f"{report.status}")
        _print_items(report, only_problems=False, out=sys.stdout)
    return 1 if report.failing else 0


def _drift(args) -> int:
    from datetime import UTC, datetime

    from control_plane.services import reconcile

    drift = reconcile.find_drift(context(), datetime.now(UTC))
    rows = [{"cluster": d.cluster, "kind": d.kind, "tenant": d.slug or "", "detail": d.detail} for d in drift]
    emit(rows, args.format, ["cluster", "kind", "tenant", "detail"])
    print(reconcile.summarise(drift), file=sys.stderr)
    return 1 if drift else 0


def _print_items(report, *, only_problems: bool, out=None) -> None:
    """One line per item (status, title, explanation), then the SQL to run, indented."""
    out = out or sys.stderr
    for item in report.items:
        if only_problems and item.status == "ok":
            continue
        print(f"{item.status.upper():<4}  {item.title}: {item.explanation}", file=out)
        for statement in item.sql:
            print(f"      {statement}", file=out)
