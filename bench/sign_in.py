"""Failed sign-in time for an unknown user name vs an existing account (wrong password), through
users.authenticate on a fresh embedded catalog. Both should cost one argon2 verification; the
variants alternate (this machine's speed drifts), throttling is relaxed so every attempt verifies.

    .venv/bin/python -m bench.sign_in [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.aws_common import catalog
from control_plane.auth.permissions import system_actor
from control_plane.auth.throttle import ThrottlePolicy
from control_plane.services import users

NO_LOCK = ThrottlePolicy(free_failures=10**9)  # measure the check itself, never the lock's fast refusal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    ctx = catalog()
    try:
        users.add_user(ctx, system_actor("bench"), "known", "support", "the right password")
        users.authenticate(ctx, "warm-up", "wrong password", policy=NO_LOCK)  # first dummy hash, pool
        timings: dict[str, list[float]] = {"unknown user": [], "known user": []}
        for i in range(args.rounds):
            for label, name in (("unknown user", f"nobody{i}"), ("known user", "known")):
                started = time.perf_counter()
                assert users.authenticate(ctx, name, "wrong password", policy=NO_LOCK) is None
                timings[label].append((time.perf_counter() - started) * 1000)
        print(f"failed sign-in, median of {args.rounds} alternated attempts each:")
        for label, values in timings.items():
            print(f"  {label:<13} {statistics.median(values):7.1f} ms  (min {min(values):.1f}, max {max(values):.1f})")
        known, unknown = (statistics.median(timings[k]) for k in ("known user", "unknown user"))
        print(f"  ratio known/unknown {known / unknown:.2f}")
    finally:
        ctx.close()
        if ctx.embedded_server is not None:
            ctx.embedded_server.stop()


if __name__ == "__main__":
    main()
