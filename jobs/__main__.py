"""`python -m jobs`: the worker. `python -m jobs run-once JOB_ID`: one job now, then exit.
`python -m jobs list`: the registered jobs."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from control_plane import redact
from control_plane.config import Settings
from control_plane.errors import ControlPlaneError
from control_plane.scheduler import registry


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jobs", description="Scheduled jobs worker (leader-elected).")
    parser.add_argument("--only", help="comma-separated job ids to schedule (default: all)")
    parser.add_argument("--extra-jobs", metavar="MODULE", help="also load JOBS from this module (tests)")
    parser.add_argument("--retry-seconds", type=float, default=5.0, help="standby retry interval (default 5)")
    parser.add_argument("--log-level", default="INFO")
    commands = parser.add_subparsers(dest="command")
    once = commands.add_parser("run-once", help="run one job now and exit (status 0 if it succeeded)")
    once.add_argument("job_id")
    commands.add_parser("list", help="list the registered jobs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact.install()  # before any job logs: credentials never reach the worker log
    try:
        extra = registry.load_extra(args.extra_jobs)
    except (ImportError, ValueError, AttributeError) as exc:
        print(f"error: --extra-jobs {args.extra_jobs}: {exc}", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
    except ControlPlaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    specs = (*registry.for_settings(settings), *extra)
    if args.command == "list":
        for spec in specs:
            print(f"{spec.id:<18} every {spec.interval_seconds:>6}s  timeout {spec.timeout_seconds:>5}s  "
                  f"{spec.description}")
        return 0
    if args.command == "run-once":
        try:
            spec = registry.get(args.job_id, extra)
        except KeyError:
            print(f"error: unknown job {args.job_id!r}; known: {', '.join(s.id for s in specs)}", file=sys.stderr)
            return 2
        return _run_once(spec)
    if args.only:
        wanted = [j.strip() for j in args.only.split(",") if j.strip()]
        unknown = sorted(set(wanted) - {s.id for s in specs})
        if unknown:
            print(f"error: unknown job(s) {', '.join(unknown)}; known: {', '.join(s.id for s in specs)}",
                  file=sys.stderr)
            return 2
        specs = tuple(s for s in specs if s.id in wanted)
    return _serve(specs, args.retry_seconds)


def _context():
    from control_plane.bootstrap import bootstrap

    return bootstrap()


def _run_once(spec: registry.JobSpec) -> int:
    from control_plane.scheduler import runner

    try:
        ctx = _context()
    except ControlPlaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    # A timed-out run's thread is a daemon: it ends with this process, which releases its job lock.
    outcome = runner.execute(ctx, spec, trigger="manual:cli")
    if outcome.status == "succeeded":
        print(outcome.summary or "done")
        return 0
    first = (outcome.error or "failed").splitlines()[0]
    print(f"error: {spec.id} {outcome.status.replace('_', ' ')} (run {outcome.run_id}): {first}", file=sys.stderr)
    return 1


def _serve(specs: tuple[registry.JobSpec, ...], retry_seconds: float) -> int:
    from control_plane.scheduler.worker import Worker

    try:
        ctx = _context()
    except ControlPlaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        Worker(ctx, specs, retry_seconds=retry_seconds).run(stop)
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
