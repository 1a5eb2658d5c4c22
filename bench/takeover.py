"""Takeover: kill -9 the leading worker just before a job is due, many times, and count the
occurrences lost or run twice (issue 17: 1 in 8 takeovers lost one before the fix).

    .venv/bin/python bench/takeover.py [--kills 20] [--before 0.3] [--retry 0.5]

Two real worker processes (`python -m jobs --only due`, the test job `due` every 3 s) against a
private embedded PostgreSQL; each round waits for a leader and a ready standby, kills the leader
--before seconds ahead of the job's stored next due time, starts a replacement standby and waits for
that occurrence's run. The standbys ask for the lock every --retry seconds, so some takeovers come
before the due time and some after it (the occurrence was due during the gap).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.aws_common import catalog  # noqa: E402
from tests.jobs.takeover import Fleet, Tally, check_grid, kill_before_due  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--before", type=float, default=0.3, help="seconds before the due time to kill")
    parser.add_argument("--retry", type=float, default=0.5, help="standby retry interval, seconds")
    args = parser.parse_args()
    ctx = catalog()
    logs = Path(tempfile.mkdtemp(prefix="cp-bench-takeover-"))
    fleet = Fleet(ctx.catalog_url, logs, retry_seconds=args.retry)
    tally = Tally()
    started = time.monotonic()
    try:
        for _ in range(args.kills):
            kill_before_due(ctx, fleet, tally, before=args.before)
            print(f"  {tally.line()}", flush=True)
    finally:
        fleet.stop()
    check_grid(ctx, tally)
    print(f"{tally.line()} in {time.monotonic() - started:.0f} s (logs: {logs})")
    for when in tally.lost:
        print(f"  lost: {when.isoformat()}")
    for when in tally.doubled:
        print(f"  doubled: {when.isoformat()}")
    for when, why in tally.not_succeeded:
        print(f"  not succeeded: {when.isoformat()}: {why.splitlines()[0]}")


if __name__ == "__main__":
    main()
