"""`billing import FILE.csv`, `billing mrr [--from YYYY-MM] [--to YYYY-MM] --format csv|json|table`,
`billing plans list|set`."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from control_plane.cli.common import actor, add_actor, add_format, context, emit
from control_plane.core.records import record

# Handlers import the revenue modules (pandas for the MRR table) when they run (a fast start:
# control_plane/cli/__init__.py).

PLAN_COLUMNS = ["code", "name", "list_price", "interval", "active", "sort_order", "tenants"]


def register(groups) -> None:
    group = groups.add_parser("billing", help="subscription ledger, MRR table, plans")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=type(group))

    p = commands.add_parser("import", help="import subscription changes from a CSV file (replaces same tenant+date)")
    p.add_argument("file", type=Path, help="tenant,effective_date,plan,interval,price,seats,discount_percent,status")
    add_actor(p)
    add_format(p, choices=("json", "table"))
    p.set_defaults(func=_import)

    p = commands.add_parser("mrr", help="the monthly MRR table (month-end snapshots)")
    p.add_argument("--from", dest="start", metavar="YYYY-MM", help="first month printed (history before still counts)")
    p.add_argument("--to", dest="end", metavar="YYYY-MM", help="last month printed (default: this month)")
    add_actor(p)
    add_format(p, default="csv", choices=("csv", "json", "table"))
    p.set_defaults(func=_mrr)

    p = commands.add_parser("plans", help="plans in the catalog")
    plan_commands = p.add_subparsers(dest="plans_command", metavar="ACTION", required=True, parser_class=type(group))
    q = plan_commands.add_parser("list", help="every plan with its list price and tenant count")
    add_actor(q)
    add_format(q)
    q.set_defaults(func=_plans_list)
    q = plan_commands.add_parser("set", help="create a plan or change its name, price, interval, state")
    q.add_argument("code")
    q.add_argument("--name")
    q.add_argument("--price", help="list price per interval per seat, e.g. 49.00")
    q.add_argument("--interval", choices=("month", "year"))
    q.add_argument("--sort-order", type=int)
    state = q.add_mutually_exclusive_group()
    state.add_argument("--active", dest="active", action="store_true", default=None, help="offer it again")
    state.add_argument("--inactive", dest="active", action="store_false", help="stop offering it to new tenants")
    add_actor(q)
    add_format(q)
    q.set_defaults(func=_plans_set)


def _import(args) -> int:
    from control_plane.revenue import importer

    result = importer.import_file(context(), actor(args), args.file)
    emit(result.as_dict(), args.format)
    if result.unknown_plans:
        print(f"note: plan(s) not in the catalog, imported as given: {', '.join(result.unknown_plans)}",
              file=sys.stderr)
    return 0


def _mrr(args) -> int:
    from control_plane.revenue import reports

    rows = reports.mrr_table(context(), actor(args), args.start, args.end)
    if args.format == "json":
        write_mrr_json(rows)
    else:
        emit(rows, args.format, reports.MRR_COLUMNS)
    return 0


def write_mrr_json(rows: list[dict[str, Any]]) -> None:
    """JSON numbers written with exactly two decimals (`json.loads(..., parse_float=Decimal)` gets
    them back exactly); the standard encoder would go through floats."""
    def value(v: Any) -> str:
        return str(v) if isinstance(v, (Decimal, int)) and not isinstance(v, bool) else json.dumps(v)

    sys.stdout.write("[" + ("\n" if rows else ""))
    sys.stdout.write(",\n".join(
        "  {" + ", ".join(f"{json.dumps(k)}: {value(v)}" for k, v in row.items()) + "}" for row in rows))
    sys.stdout.write(("\n" if rows else "") + "]\n")


def _plans_list(args) -> int:
    from control_plane.revenue import plans

    emit([record(p) for p in plans.list_plans(context(), actor(args))], args.format, PLAN_COLUMNS)
    return 0


def _plans_set(args) -> int:
    from control_plane.revenue import plans

    view = plans.save_plan(context(), actor(args), args.code, name=args.name, list_price=args.price,
                           interval=args.interval, active=args.active, sort_order=args.sort_order)
    emit(record(view), args.format, PLAN_COLUMNS)
    return 0
