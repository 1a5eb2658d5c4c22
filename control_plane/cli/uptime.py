"""`uptime import|report|slo|sla-report|alerts|inbox|handle|maintenance`: the Uptime screen's figures
and the on-call inbox without the app (docs/uptime.md, docs/runbook.md). "Now" is read here, once,
and handed to the computation (`--at` sets it)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from control_plane.cli.common import actor, add_actor, add_format, context, emit
from control_plane.errors import InvalidInput

HANDLE_ACTIONS = {"ack": "acknowledge", "assign": "assign", "note": "note", "resolve": "resolve"}

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

    p = commands.add_parser("slo", help="the 30-day SLO table of the Uptime screen (per tenant and platform target)")
    _add_at(p)
    add_actor(p)
    add_format(p, default="json", choices=("json", "csv", "table"))
    p.set_defaults(func=_slo)

    p = commands.add_parser("sla-report", help="monthly SLA report per tenant (uptime, SLO met, incidents, "
                                               "downtime, MTTR)")
    p.add_argument("--tenant", metavar="SLUG", help="one tenant (default: every tenant)")
    p.add_argument("--months", type=int, default=12, help="the last N calendar months, 1-36 (default 12)")
    _add_at(p)
    add_actor(p)
    add_format(p, default="csv", choices=("csv", "json", "table"))
    p.set_defaults(func=_sla_report)

    p = commands.add_parser("alerts", help="stored burn-rate alerts, or (--evaluate) those firing at an instant")
    p.add_argument("--evaluate", action="store_true",
                   help="compute the firing burn-rate alerts from the checks at --at (default now); stores nothing")
    p.add_argument("--limit", type=int, default=200, help="stored alerts shown, 1-10000 (default 200)")
    _add_at(p)
    add_actor(p)
    add_format(p, default="json", choices=("json", "csv", "table"))
    p.set_defaults(func=_alerts)

    p = commands.add_parser("inbox", help="what is wrong now: open incidents, firing burn-rate alerts, targets "
                                          "down, tenants out of budget (docs/runbook.md)")
    _add_at(p)
    add_actor(p)
    add_format(p, default="table", choices=("table", "json", "csv"))
    p.set_defaults(func=_inbox)

    p = commands.add_parser("handle", help="acknowledge, assign, note or resolve an alert or incident (audited)")
    p.add_argument("kind", choices=("alert", "incident"))
    p.add_argument("item_id", type=int, metavar="ID")
    p.add_argument("action", choices=tuple(HANDLE_ACTIONS))
    p.add_argument("--to", dest="assignee", metavar="USER", help="the user to assign it to (assign)")
    p.add_argument("--note", help="a note (required for note; optional with the other actions)")
    add_actor(p)
    p.set_defaults(func=_handle)

    p = commands.add_parser("maintenance", help="maintenance windows: add, list, delete")
    actions = p.add_subparsers(dest="maintenance_command", metavar="ACTION", required=True, parser_class=type(group))
    q = actions.add_parser("add", help="declare a window [start, end) (audited; recomputes the roll-ups it overlaps)")
    scope = q.add_mutually_exclusive_group(required=True)
    scope.add_argument("--target", help="one target")
    scope.add_argument("--tenant", metavar="SLUG", help="every target of one tenant")
    scope.add_argument("--everything", action="store_true", help="every target")
    q.add_argument("--start", required=True, help="ISO-8601 start (inclusive); without a zone, UTC")
    end = q.add_mutually_exclusive_group(required=True)
    end.add_argument("--end", help="ISO-8601 end (exclusive); without a zone, UTC")
    end.add_argument("--hours", type=float, help="length in hours instead of --end")
    q.add_argument("--reason", required=True)
    add_actor(q)
    add_format(q, default="json", choices=("json", "table"))
    q.set_defaults(func=_maintenance_add)
    q = actions.add_parser("list", help="windows ending after --at minus --past-days (default 30)")
    q.add_argument("--past-days", type=int, default=30)
    _add_at(q)
    add_actor(q)
    add_format(q, default="table", choices=("json", "csv", "table"))
    q.set_defaults(func=_maintenance_list)
    q = actions.add_parser("delete", help="delete a window (audited; the checks in it count again)")
    q.add_argument("window_id", type=int, metavar="ID")
    add_actor(q)
    q.set_defaults(func=_maintenance_delete)


def _add_at(parser) -> None:
    parser.add_argument("--at", help="the instant taken as now (ISO-8601; without a zone, UTC; default: now)")


def _now(args) -> datetime:
    """The command's "now": --at, checked, or the clock read once here."""
    from control_plane.uptime.report import EARLIEST, NEWEST

    if not args.at:
        return datetime.now(UTC)
    at = parse_instant(args.at, "--at")
    if not EARLIEST <= at <= NEWEST:
        raise InvalidInput(f"--at must lie between {EARLIEST:%Y-%m-%d} and {NEWEST:%Y-%m-%d}.")
    return at


def _records(frame) -> list[dict]:
    """DataFrame rows as plain Python values (numbers, booleans, None for missing), ready for JSON."""
    return [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict("records")]


def _plain(value):
    import math

    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # a numpy scalar as its Python value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


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


def _slo(args) -> int:
    from control_plane.uptime.views import TABLE_COLUMNS, uptime_table

    emit(_records(uptime_table(context(), actor(args), now=_now(args))), args.format, TABLE_COLUMNS)
    return 0


def _sla_report(args) -> int:
    from control_plane.uptime.views import SLA_COLUMNS, sla_report, sla_report_all

    now = _now(args)
    if args.tenant is not None:
        frame = sla_report(context(), actor(args), args.tenant, args.months, now=now)
    else:
        frame = sla_report_all(context(), actor(args), args.months, now=now)
    emit(_records(frame), args.format, SLA_COLUMNS)
    return 0


def _alerts(args) -> int:
    from control_plane.uptime import alert_reads

    if args.evaluate:
        emit(alert_reads.firing(context(), actor(args), _now(args)), args.format, alert_reads.FIRING_FIELDS)
        return 0
    if args.at:
        raise InvalidInput("--at goes with --evaluate (stored alerts are listed as stored).")
    if not 1 <= args.limit <= 10_000:
        raise InvalidInput("--limit must be between 1 and 10000.")
    emit(alert_reads.stored(context(), actor(args), args.limit), args.format, alert_reads.STORED_FIELDS)
    return 0


def _maintenance_add(args) -> int:
    import math
    from datetime import timedelta

    from control_plane.uptime import maintenance

    start = parse_instant(args.start, "--start")
    if args.end is not None:
        end = parse_instant(args.end, "--end")
    else:
        if not math.isfinite(args.hours) or not 0 < args.hours <= 31 * 24:
            raise InvalidInput("--hours must be more than 0 and at most 744 (31 days).")
        end = start + timedelta(hours=args.hours)
    window = maintenance.declare(context(), actor(args), start, end, args.reason,
                                 target=args.target, tenant_slug=args.tenant)
    emit({"id": window.id, "scope": window.target or (f"tenant {window.tenant_slug}" if window.tenant_slug
                                                     else "everything"),
          "starts_at": window.starts_at, "ends_at": window.ends_at, "reason": window.reason,
          "created_by": window.created_by}, args.format)
    return 0


def _maintenance_list(args) -> int:
    from control_plane.uptime import maintenance

    frame = maintenance.list_windows(context(), actor(args), include_past_days=args.past_days, now=_now(args))
    emit(_records(frame), args.format, list(frame.columns))
    return 0


def _maintenance_delete(args) -> int:
    from control_plane.uptime import maintenance

    maintenance.delete(context(), actor(args), args.window_id)
    print(f"deleted maintenance window #{args.window_id}", file=sys.stderr)
    return 0


def _inbox(args) -> int:
    from control_plane.uptime import inbox

    found = inbox.build(context(), actor(args), _now(args))
    if args.format == "json":
        emit({"at": found.at, "all_clear": found.all_clear, "counts": found.counts,
              "items": [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in item.items()}
                        for item in found.items()]}, "json")
        return 0
    if args.format == "table":
        counts = ", ".join(f"{k} {v}" for k, v in found.counts.items())
        print(f"{'all clear' if found.all_clear else 'needs attention'} at {found.at.isoformat()}: {counts}",
              file=sys.stderr)
    emit(found.items(), args.format, inbox.ITEM_FIELDS)
    return 0


def _handle(args) -> int:
    from control_plane.uptime import handling

    if args.action == "assign" and not args.assignee:
        raise InvalidInput("assign needs --to USER.")
    if args.action != "assign" and args.assignee:
        raise InvalidInput("--to goes with assign.")
    state = handling.handle(context(), actor(args), args.kind, args.item_id, HANDLE_ACTIONS[args.action],
                            note=args.note, assignee=args.assignee)
    emit(state, "json")
    return 0
