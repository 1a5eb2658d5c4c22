"""`backup catalog DEST` and `backup tenants DEST [--cluster NAME] [--per-file N] [--jobs J]`: verified dumps to
an S3 prefix (s3://BUCKET/PREFIX) or a local folder, with a manifest and SHA256SUMS
(docs/operations.md "Backups")."""

from __future__ import annotations

import sys

from control_plane.cli.common import actor, add_actor, add_format, context, emit

COLUMNS = ["kind", "cluster", "files", "per_file", "schemas", "missing", "size_bytes", "seconds", "location"]


def register(groups) -> None:
    group = groups.add_parser("backup", help="verified dumps of the catalog and of tenant schemas")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=type(group))
    p = commands.add_parser("catalog", help="pg_dump of the catalog only (its own schema), verified, with checksums")
    p.add_argument("destination", help="s3://BUCKET[/PREFIX] or a local folder")
    add_actor(p)
    add_format(p, choices=("json", "table"))
    p.set_defaults(func=_catalog)

    p = commands.add_parser("tenants", help="tenant schemas in parts of --per-file schemas (one pg_dump each)")
    p.add_argument("destination", help="s3://BUCKET[/PREFIX] or a local folder")
    p.add_argument("--cluster", default=None, help="only this cluster (default: every registered cluster)")
    p.add_argument("--per-file", type=int, default=None,
                   help="schemas per dump file (default: as many as half the server's lock table allows, at most 1000)")
    p.add_argument("--jobs", type=int, default=1, help="parts dumped at once (default 1, at most 8)")
    add_actor(p)
    add_format(p, choices=("json", "table"))
    p.set_defaults(func=_tenants)


def _row(result) -> dict:
    d = result.as_dict()
    return {**d, "files": len(d["files"]), "missing": len(d["missing"])}


def _catalog(args) -> int:
    from control_plane.backup import service

    result = service.backup_catalog(context(), actor(args), args.destination)
    emit(result.as_dict() if args.format == "json" else _row(result), args.format,
         COLUMNS if args.format != "json" else None)
    return 0


def _tenants(args) -> int:
    from control_plane.backup import service

    results = service.backup_tenants(context(), actor(args), args.destination, cluster=args.cluster,
                                     per_file=args.per_file, jobs=args.jobs,
                                     progress=lambda line: print(line, file=sys.stderr))
    if args.format == "json":
        emit([r.as_dict() for r in results], "json")
    else:
        emit([_row(r) for r in results], "table", COLUMNS)
    return 0
