"""`backup catalog` and `backup tenants` timed at N tenants (issue 19, docs/operations.md "Backups").

    .venv/bin/python bench/backup_scale.py [--to 2000] [--checkpoints 500,1000,2000]
        [--data-dir .data/backup-scale] [--engine binaries|pgserver|auto] [--per-file N] [--jobs J]
        [--layout split|shared]

The fleet is grown as bench/fleet_scale.py grows it (the template's DDL and catalog rows, 100
tenants per transaction, resumable; results kept in results.json under --data-dir). --layout:
- `split` (default, what the embedded default now makes): tenant schemas in their own database
  beside the catalog's (docs/operations.md "The default cluster");
- `shared`: tenant schemas in the catalog's database (installs from before the split; the fleet
  of bench/fleet_scale.py itself).
At each checkpoint, into a local folder under --data-dir (removed afterwards):
- `backup catalog` (the catalog's schema alone, verified), seconds and MB;
- `backup tenants` (one pg_dump per part, each verified; --per-file default from the lock table as
  the command's), seconds, parts, MB;
- for comparison, one `pg_dump -Fc` of the whole database holding the tenants: seconds, or its error.
Printed: the table, with seconds per 1,000 tenants, so how each cost grows with N shows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fleet_scale import ACTOR, fleet_size, grow, markdown_table, open_context  # noqa: E402

from control_plane.archive import pgtools  # noqa: E402
from control_plane.backup import service as backup  # noqa: E402
from control_plane.context import AppContext  # noqa: E402
from control_plane.db import embedded  # noqa: E402


def whole_dump(ctx: AppContext) -> str:
    """One pg_dump of the whole database, as README's old backup command did."""
    url = ctx.clusters.url_for(None)  # the default cluster's database: the catalog's, or its own
    with psycopg.connect(url) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    tool = pgtools.find_tool("pg_dump", major)
    conninfo, env = pgtools.connection_args(url)
    t0 = time.perf_counter()
    result = subprocess.run([str(tool), "--format=custom", "--no-sync", "--no-password", f"--dbname={conninfo}",
                             "--file=/dev/null"], capture_output=True, text=True, env=env, check=False, timeout=3600)
    if result.returncode == 0:
        return f"{time.perf_counter() - t0:.1f} s"
    return "fails: " + (result.stderr.strip().splitlines() or ["?"])[-1][:90]


def checkpoint(ctx: AppContext, n: int, folder: Path, per_file: int | None, jobs: int) -> dict:
    shutil.rmtree(folder, ignore_errors=True)
    print(f"checkpoint {n:,}: backup catalog", flush=True)
    t0 = time.perf_counter()
    catalog = backup.backup_catalog(ctx, ACTOR, str(folder))
    catalog_s = time.perf_counter() - t0
    print(f"  backup tenants --per-file {per_file or 'auto'} --jobs {jobs}", flush=True)
    t0 = time.perf_counter()
    [fleet] = backup.backup_tenants(ctx, ACTOR, str(folder), cluster="default", per_file=per_file, jobs=jobs)
    tenants_s = time.perf_counter() - t0
    print("  whole-database pg_dump", flush=True)
    whole = whole_dump(ctx)
    shutil.rmtree(folder, ignore_errors=True)
    row = {"n": n, "catalog_s": catalog_s, "catalog_mb": catalog.size_bytes / 1e6, "tenants_s": tenants_s,
           "tenants_parts": len(fleet.files), "tenants_schemas": fleet.schemas, "tenants_mb": fleet.size_bytes / 1e6,
           "per_file": fleet.per_file, "asked": per_file or "auto", "jobs": jobs, "whole": whole}
    print(f"  {row}", flush=True)
    return row


def print_table(rows: list[dict], version: str) -> None:
    print(f"\nPostgreSQL {version}")
    lines = [
        ("`backup catalog`, s (MB)", lambda r: f"{r['catalog_s']:.1f} ({r['catalog_mb']:.1f})"),
        ("`backup tenants`, s", lambda r: f"{r['tenants_s']:.1f}"),
        ("… parts of --per-file, --jobs (schemas)",
         lambda r: f"{r['tenants_parts']} of {r['per_file']}, {r['jobs']} ({r['tenants_schemas']:,})"),
        ("… s per 1,000 tenants", lambda r: f"{r['tenants_s'] * 1000 / max(r['tenants_schemas'], 1):.1f}"),
        ("… MB", lambda r: f"{r['tenants_mb']:.1f}"),
        ("one pg_dump of the whole database", lambda r: r["whole"]),
    ]
    markdown_table(rows, lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--to", type=int, default=2_000)
    parser.add_argument("--checkpoints", default="500,1000,2000")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data" / "backup-scale")
    parser.add_argument("--engine", default="binaries", help="binaries (Debian's PostgreSQL), pgserver or auto")
    parser.add_argument("--per-file", type=int, default=None, help="default: from the lock table, as the command")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--layout", choices=("split", "shared"), default="split")
    args = parser.parse_args()
    checkpoints = sorted({int(c) for c in args.checkpoints.split(",") if int(c) <= args.to})
    args.data_dir.mkdir(parents=True, exist_ok=True)
    results_path = args.data_dir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else []
    server = embedded.start(args.data_dir, engine=args.engine)
    ctx = open_context(server, split=args.layout == "split")
    raw = psycopg.connect(ctx.clusters.catalog_url, autocommit=True)
    tenants_db = psycopg.connect(ctx.clusters.url_for(None), autocommit=True)
    version = raw.execute("SHOW server_version").fetchone()[0]
    key = (args.per_file or "auto", args.jobs, args.layout)
    done = {(r["n"], r.get("asked"), r.get("jobs"), r.get("layout", "shared")) for r in results}
    try:
        for n in checkpoints:
            if (n, *key) in done:
                continue
            have = fleet_size(raw)
            if have > n:  # a fleet never shrinks: this checkpoint needs a fresh --data-dir
                print(f"skipping {n:,}: the fleet already has {have:,} tenants", flush=True)
                continue
            print(f"growing to {n:,} tenants (have {have:,})", flush=True)
            grow(raw, tenants_db, n)
            results.append({**checkpoint(ctx, n, args.data_dir / "backups", args.per_file, args.jobs),
                            "layout": args.layout})
            results_path.write_text(json.dumps(results, indent=1))
    finally:
        raw.close()
        tenants_db.close()
        ctx.close()
        print_table(sorted((r for r in results if (r.get("asked"), r.get("jobs"), r.get("layout", "shared")) == key),
                           key=lambda r: r["n"]), f"{version}, layout {args.layout}")
        server.stop()


if __name__ == "__main__":
    main()
