"""Demo mode on first start: simulated AWS, then demo accounts and data, once per catalog.

Demo accounts (published password `demo`) are created only on the embedded catalog. With
DATABASE_URL set and CP_DEMO=true the demo data is still seeded, but no account: the log says so.

Two processes may start together (the app and the worker, or two app replicas): a session-level
advisory lock serialises them, and a marker row written after a complete seed tells every later
start that there is nothing to do. A seed interrupted half-way leaves no marker, so the next
start runs it again and the seeder finishes what exists.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import select

from control_plane.auth.permissions import system_actor
from control_plane.context import AppContext
from control_plane.db import advisory_locks
from control_plane.db.models import AppMarker
from control_plane.demo.seed import Progress, seed_demo
from control_plane.services.users import demo_accounts_allowed

log = logging.getLogger(__name__)
MARKER = "demo_seeded"


def prepare_demo(ctx: AppContext, progress: Progress | None = None, *, seed: int = 7) -> bool:
    """Idempotent: start the local AWS simulation and seed the demo catalog once.
    Returns True when this call seeded."""
    from control_plane.demo.aws import start_simulated_aws

    start_simulated_aws(ctx)
    if is_seeded(ctx):
        return False
    # Autocommit: the lock is the session's, and no transaction stays open while the seed runs.
    with (ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn,
          advisory_locks.session_lock(conn, advisory_locks.DEMO_STARTUP, wait=True)):
        if is_seeded(ctx):  # another process seeded while we waited
            return False
        _seed(ctx, progress or _log_progress(), seed)
        return True


def is_seeded(ctx: AppContext) -> bool:
    with ctx.session_factory() as session:
        return session.scalar(select(AppMarker.name).where(AppMarker.name == MARKER)) is not None


def _seed(ctx: AppContext, progress: Progress, seed: int) -> None:
    settings = ctx.settings
    started = time.perf_counter()
    log.info("demo mode: seeding %d tenants and %d months of history (first start only)",
             settings.demo_tenants, settings.demo_months)
    accounts = demo_accounts_allowed(ctx)
    if not accounts:
        log.warning("demo mode with DATABASE_URL: seeding demo data but no demo accounts (they exist only on "
                    "the embedded catalog); add accounts with `python -m control_plane users add`")
    result = seed_demo(ctx, system_actor("demo-seed"), tenants=settings.demo_tenants,
                       months=settings.demo_months, seed=seed, accounts=accounts, progress=progress)
    elapsed = time.perf_counter() - started
    with ctx.session_factory() as session:
        session.add(AppMarker(name=MARKER, detail={
            "tenants": len(result.tenants), "months": settings.demo_months, "seconds": round(elapsed, 1),
            "stages": {k: round(v, 2) for k, v in result.seconds.items()},
        }))
        session.commit()
    log.info("demo mode: seeded in %.1f s (%s)", elapsed,
             ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()))


def _log_progress() -> Progress:
    last: dict[str, int] = {}

    def report(stage: str, done: int, total: int) -> None:
        decile = 10 * done // max(total, 1)
        if last.get(stage) != decile:
            last[stage] = decile
            log.info("demo seed: %s %d/%d", stage, done, total)

    return report
