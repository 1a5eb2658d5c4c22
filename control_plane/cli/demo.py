"""`demo seed --tenants N --months M`: demo data through the real services, into any catalog."""

from __future__ import annotations

import sys
import time

from control_plane.cli.common import Progress, actor, add_actor, context
from control_plane.demo.constants import DEMO_PASSWORD, MAX_TENANTS
from control_plane.errors import InvalidInput


def register(groups) -> None:
    group = groups.add_parser("demo", help="demo data for staging, screenshots and benchmarks")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=type(group))
    p = commands.add_parser("seed", help="provision demo tenants (real schemas) and seed their history")
    p.add_argument("--tenants", type=int, default=300, help=f"demo tenants, 0-{MAX_TENANTS} (default 300)")
    p.add_argument("--months", type=int, default=18, help="months of history (default 18)")
    p.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same data")
    p.add_argument("--jobs", type=int, default=4, help="tenants provisioned at once (default 4)")
    p.add_argument("--accounts", action="store_true",
                   help=f"also add the demo accounts founder/support/oncall/admin (password {DEMO_PASSWORD!r})")
    add_actor(p)
    p.set_defaults(func=_seed)


def _seed(args) -> int:
    if not 0 <= args.tenants <= MAX_TENANTS:  # before connecting: bad input costs nothing
        raise InvalidInput(f"--tenants must be between 0 and {MAX_TENANTS}, got {args.tenants}.")
    if not 1 <= args.months <= 60:
        raise InvalidInput(f"--months must be between 1 and 60, got {args.months}.")
    if not 1 <= args.jobs <= 16:
        raise InvalidInput("--jobs must be between 1 and 16.")
    bars: dict[str, Progress] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "tenants":
            bar = bars.setdefault(stage, Progress(total, "tenants"))
            while bar.done < done:
                bar.step()
        elif done == 0:
            print(f"{stage}: seeding history…", file=sys.stderr, flush=True)

    from control_plane.demo.seed import seed_demo  # the services behind it, when it runs

    started = time.perf_counter()
    result = seed_demo(context(), actor(args), tenants=args.tenants, months=args.months, seed=args.seed,
                       accounts=args.accounts, workers=args.jobs, progress=progress)
    elapsed = time.perf_counter() - started
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    print(f"seeded {len(result.tenants)} demo tenants, {args.months} months, in {elapsed:.1f} s ({stages})")
    if result.accounts_created:
        print(f"demo accounts added: {', '.join(result.accounts_created)} (password {DEMO_PASSWORD!r})")
    return 0
