"""Peak memory of `uptime import` and `billing import` of a ~50 MB CSV each, and of refusing a
hostile file of the same size that is one record over millions of lines (`"ab\n",` repeated).

    .venv/bin/python bench/import_memory.py [--mb 50] [--keep]

Generates the two files (deterministic content), runs `python -m control_plane <group> import FILE`
in a child process for each against a fresh catalog, and prints the child's peak resident set
size (ru_maxrss from os.wait4: that child alone, not the database server) and its wall time.
The importers stream rows through a staging table, so the peak should stay far under 200 MB
whatever the file's size; the hostile file is refused after MAX_RECORD_LINES lines
(control_plane/csv_input.py), before its fields pile up. Uses DATABASE_URL's server if set, else a
private embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.provisioning import fresh_database  # noqa: E402
from control_plane.db import embedded, migrate  # noqa: E402
from control_plane.db.engine import make_engine  # noqa: E402

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def uptime_csv(path: Path, size: int) -> int:
    """2,000 targets checked every minute from T0, one failure in 50; returns the row count."""
    rows = 0
    with path.open("w") as out:
        out.write("target,checked_at,ok,latency_ms\n")
        while out.tell() < size:
            at = (T0 + timedelta(minutes=rows // 2000)).isoformat()
            out.write(f"bench-target-{rows % 2000:04d},{at},{'false' if rows % 50 == 7 else 'true'},"
                      f"{rows % 900 + 0.25}\n")
            rows += 1
    return rows


def billing_csv(path: Path, size: int) -> int:
    """One change a month per tenant, as many tenants as it takes; returns the row count."""
    rows = 0
    with path.open("w") as out:
        out.write("tenant,effective_date,plan,interval,price,seats,discount_percent,status\n")
        while out.tell() < size:
            tenant, month = divmod(rows, 300)
            day = f"{2000 + month // 12}-{month % 12 + 1:02d}-01"
            out.write(f"bench_tenant_{tenant},{day},team,month,{49 + rows % 7}.50,{1 + rows % 9},"
                      f"{rows % 3 * 5},{'active' if rows % 11 else 'past_due'}\n")
            rows += 1
    return rows


def hostile_csv(path: Path, size: int) -> int:
    """A header, then one record that never ends: a quoted two-line field and a comma, repeated."""
    chunk = b'"ab\n",' * 10_000
    with path.open("wb") as out:
        out.write(b"target,checked_at,ok,latency_ms\n")
        while out.tell() < size:
            out.write(chunk)
    return 1


def peak_of_child(argv: list[str], env: dict[str, str]) -> tuple[int, float, int, str]:
    """(exit code, wall seconds, peak RSS in bytes, stderr) of one child process."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        message = err.read().decode(errors="replace").strip()
    return child.returncode, time.monotonic() - start, usage.ru_maxrss * 1024, message  # ru_maxrss is KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=50.0, help="size of each generated file in MB (default 50)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

    server = None
    admin_url = os.environ.get("DATABASE_URL")
    if admin_url is None:
        server = embedded.start(Path(tempfile.mkdtemp(prefix="bench-pg-")))
        admin_url = server.url("postgres")
    url = fresh_database(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": url}
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    size = int(args.mb * 1_000_000)
    try:
        for group, generate in (("uptime", uptime_csv), ("billing", billing_csv), ("uptime", hostile_csv)):
            path = work / f"{group}-{generate.__name__}"
            rows = generate(path, size)
            code, seconds, peak, message = peak_of_child(
                [sys.executable, "-m", "control_plane", group, "import", str(path)], env)
            print(f"{group} import of {generate.__name__}: {path.stat().st_size / 1e6:.1f} MB, {rows:,} rows: "
                  f"exit {code}, {seconds:.1f} s, peak RSS {peak / 1e6:.0f} MB"
                  + ("" if code == 0 else f" ({message})"))
    finally:
        if not args.keep:
            for path in work.iterdir():
                path.unlink()
            work.rmdir()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
