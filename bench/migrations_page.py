"""The Migrations page's script time (AppTest, no browser) with a 2,000-tenant run in progress.

    .venv/bin/python bench/migrations_page.py [--tenants 2000] [--rounds 7]

A fresh embedded catalog with N tenants below the latest version (catalog rows: the page reads
only the catalog), a run planned over all of them with half its results applied; then the page is
run as an admin `--rounds` times. Prints the median and worst (target: the page within 1.5 s;
this is the server side only, a browser adds its drawing).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from bench.aws_common import catalog  # noqa: E402
from bench.fleet_migrations import INSERT_TENANT  # noqa: E402
from control_plane.adapters.clusters import libpq_url  # noqa: E402
from control_plane.auth.permissions import system_actor  # noqa: E402
from control_plane.fleet import service  # noqa: E402
from control_plane.fleet.options import Options  # noqa: E402
from control_plane.services import users  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    ctx = catalog()
    actor = system_actor("bench")
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as raw:
        with raw.transaction(), raw.cursor() as cur:
            cur.executemany(INSERT_TENANT, [(f"p{i:05d}", f"Page {i}", 2) for i in range(args.tenants)])
        run_id = service.start(ctx, actor, Options(soak_seconds=600), queue=True).run_id
        raw.execute("UPDATE control_plane.migration_runs SET status = 'soaking', current_wave = 2, "
                    "soak_until = now() + interval '10 minutes' WHERE id = %s",
                    (run_id,))
        raw.execute("UPDATE control_plane.migration_results SET status = 'applied', to_version = 3, attempts = 1 "
                    "WHERE run_id = %s AND wave = 1 OR (run_id = %s AND tenant_slug < 'p01000')", (run_id, run_id))
    users.add_user(ctx, actor, "bench-admin", "admin", "bench-password-long")
    os.environ.update({"DATABASE_URL": ctx.catalog_url, "CP_DEMO": "0", "CP_RUN_SCHEDULER_IN_APP": "0",
                       "CP_SESSION_SECRET": secrets.token_hex(32)})
    seconds = []
    for _ in range(args.rounds):
        at = AppTest.from_file(str(ROOT / "pages" / "migrations.py"), default_timeout=60)
        at.session_state["cp_auth"] = {"username": "bench-admin", "role": "admin", "at": time.time()}
        started = time.perf_counter()
        at.run()
        seconds.append(time.perf_counter() - started)
        assert not at.exception, at.exception
        assert at.title[0].value == "Migrations" and len(at.dataframe[-1].value) == args.tenants  # all drawn
    print(f"Migrations page, run of {args.tenants} tenants in progress: median {statistics.median(seconds):.2f} s, "
          f"worst {max(seconds):.2f} s over {args.rounds} runs (first run includes imports; target <= 1.5 s)")


if __name__ == "__main__":
    main()
