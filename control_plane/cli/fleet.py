"""`tenants migrations`, `tenants migrate …`, `tenants verify-schemas` (docs/migrations.md).

Handlers import the fleet services when they run (a fast start: control_plane/cli/__init__.py).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from control_plane.cli.common import Progress, actor, add_actor, add_format, context, emit
from control_plane.core.records import record
from control_plane.errors import InvalidInput

if TYPE_CHECKING:
    from control_plane.fleet.service import RunReport

ACTIONS = ("status", "halt", "resume", "rollback")


def register_tenant_commands(commands) -> None:
    p = commands.add_parser("migrations", help="template revisions and how many tenants are at each version")
    add_format(p)
    p.set_defaults(func=_migrations)

    p = commands.add_parser(
        "migrate", help="roll the tenant template out in waves; `migrate status|halt|resume|rollback [RUN]`",
        usage="%(prog)s [status|halt|resume|rollback [RUN]] [--to V] [--waves 5,25,100] [--soak 10m] "
              "[--max-failures N] [--dry-run] [--tenants a,b] [--queue] [--allow-data-loss]")
    p.add_argument("action", nargs="?", choices=ACTIONS, help="act on a run instead of starting one")
    p.add_argument("run", nargs="?", type=int, help="run id (status: default the latest)")
    p.add_argument("--to", type=int, dest="target", help="target version (default the latest)")
    p.add_argument("--waves", default="5,25,100", help="cumulative percentages per wave (default 5,25,100)")
    p.add_argument("--soak", default="10m", help="wait between waves: 10m, 30s, 0 (default 10m)")
    p.add_argument("--max-failures", type=int, default=0, help="failed tenants tolerated before halting (default 0)")
    p.add_argument("--tenants", help="only these tenants (comma-separated slugs)")
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    p.add_argument("--queue", action="store_true", help="let the worker drive the run (returns at once)")
    p.add_argument("--allow-contract", action="store_true", help="allow contract revisions (drops, renames)")
    p.add_argument("--canary-enterprise", action="store_true", help="enterprise tenants may be in the canary")
    p.add_argument("--allow-data-loss", action="store_true",
                   help="rollback: drop the rows its reverse steps remove (admin only; a verified copy goes to S3 "
                        "first)")
    p.add_argument("--concurrency", type=int, default=2, help="tenants at once per cluster (default 2)")
    p.add_argument("--lock-timeout", type=int, default=2000, metavar="MS", help="lock_timeout per revision (ms)")
    p.add_argument("--reason", help="why (halt)")
    add_actor(p)
    add_format(p, default="json")
    p.set_defaults(func=_migrate)

    p = commands.add_parser("verify-schemas", help="compare every tenant schema with its recorded version")
    add_format(p, default="json")
    p.set_defaults(func=_verify)


def _migrations(args) -> int:
    from control_plane.fleet import service

    data = service.revisions_and_versions(context(), actor(args))
    if args.format == "json":
        emit(data, "json")
    else:
        emit(data["revisions"], args.format, ["version", "name", "kind", "reversible", "tenants"])
    return 0


def _options(args):
    from control_plane.fleet.options import Options, parse_duration
    from control_plane.fleet.planner import parse_waves

    tenants = None
    if args.tenants is not None:
        tenants = tuple(s.strip() for s in args.tenants.split(",") if s.strip())
        if not tenants or len(tenants) > 10_000:
            raise InvalidInput("--tenants must name 1 to 10000 slugs separated by commas.")
    return Options(target=args.target, waves=parse_waves(args.waves), soak_seconds=parse_duration(args.soak),
                   max_failures=args.max_failures, tenants=tenants, allow_contract=args.allow_contract,
                   canary_enterprise=args.canary_enterprise, concurrency=args.concurrency,
                   lock_timeout_ms=args.lock_timeout)


def _migrate(args) -> int:
    from control_plane.fleet import service

    ctx, who = context(), actor(args)
    if args.action == "status":
        emit(_summary(service.status(ctx, who, args.run), results=True), "json")
        return 0
    if args.action is not None:
        if args.run is None:
            raise InvalidInput(f"`tenants migrate {args.action}` needs a run id (see `tenants migrate status`).")
        if args.action == "halt":
            emit(_summary(service.halt(ctx, who, args.run, args.reason), results=True), "json")
            return 0
        if args.action == "rollback":
            emit(_summary(service.rollback(ctx, who, args.run, allow_data_loss=args.allow_data_loss)), "json")
            return 0
        service.resume(ctx, who, args.run, queue=args.queue)
        return _drive(ctx, who, args.run, args.queue)
    options = _options(args)
    if args.dry_run:
        emit(service.plan(ctx, who, options).as_dict(), "json")
        return 0
    started = service.start(ctx, who, options, queue=args.queue)
    print(started.message, file=sys.stderr)
    if started.run_id is None:
        emit({"run": None, "message": started.message}, "json")
        return 0
    return _drive(ctx, who, started.run_id, args.queue)


def _drive(ctx, who, run_id: int, queued: bool) -> int:
    from control_plane.fleet import service
    from control_plane.fleet.run import Hooks

    if queued:
        print(f"Run {run_id} queued: the worker drives it; follow it with `tenants migrate status {run_id}`.",
              file=sys.stderr)
        emit(_summary(service.status(ctx, who, run_id, with_results=False)), "json")
        return 0
    bars: dict[int, Progress] = {}

    def progress(wave: int, done: int, total: int) -> None:
        bar = bars.setdefault(wave, Progress(total, f"wave {wave}"))
        bar.step()

    def soaking(run: int, wave: int) -> None:
        print(f"wave {wave} applied; soaking (Ctrl-C leaves the run as it is: resume it later)", file=sys.stderr)

    step = service.drive(ctx, who, run_id, hooks=Hooks(progress=progress, on_soak=soaking))
    print(f"run {run_id}: {step.status}: {step.detail}", file=sys.stderr)
    emit(_summary(service.status(ctx, who, run_id, with_results=False)), "json")
    return 0 if step.status == "completed" else 1


def _summary(status: RunReport | None, *, results: bool = False) -> dict:
    """The run as JSON: `{"run": null}` when there is none; the per-tenant results only if asked."""
    if status is None:
        return {"run": None}
    return {k: v for k, v in record(status).items() if results or k != "results"}


def _verify(args) -> int:
    from control_plane.fleet import drift

    report = drift.verify(context(), actor(args))
    emit(report, args.format, ["tenant", "cluster", "version", "status", "fingerprint"])
    drifted = sum(1 for r in report if r["status"] != "ok")
    print(f"{len(report)} schema(s) checked, {drifted} differ from their recorded version", file=sys.stderr)
    return 1 if drifted else 0
