"""Fleet reads at N tenants (issue 19): `tenants verify-schemas`, `jobs run-once reconcile`, `tenants
list` as JSON and CSV, and the Tenants page's first AppTest render; seconds, peak RSS and output
bytes, each in a process of its own, for this tree and, with --before, another tree of the code
(say main exported with `git archive`) on the same fleet in the same run.

    .venv/bin/python bench/fleet_reads.py [--data-dir /work/fleet-scale-data] [--before DIR]
        [--rounds 1] [--only verify,reconcile,list_json,list_csv,page]

The fleet is the one bench/fleet_scale.py grows (same data dir, database `fleet_scale`); grow it
first. Nothing here writes to the fleet but the reconcile job's alerts and the page's bench user.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from control_plane.db import embedded  # noqa: E402

DATABASE = "fleet_scale"

# The Tenants page's first render through AppTest, signed in as a support user (created once).
_PAGE = """
import sys, time
from streamlit.testing.v1 import AppTest
from control_plane.auth.permissions import Actor, Role
from control_plane.services import users
from ui.context import app_context
ctx = app_context()
admin = Actor("bench", Role.ADMIN)
if "bench-support" not in {u.username for u in users.list_users(ctx, admin)}:
    users.add_user(ctx, admin, "bench-support", "support", "bench-password-long-enough")
at = AppTest.from_file("pages/tenants.py", default_timeout=600)
at.session_state["cp_auth"] = {"username": "bench-support", "role": "support", "at": time.time()}
t0 = time.perf_counter()
at.run()
took = time.perf_counter() - t0
assert not at.exception, at.exception
print(f"{took} {len(at.dataframe[0].value)}", file=sys.stderr)
"""

COMMANDS = {
    "verify": ["-m", "control_plane", "tenants", "verify-schemas", "--format", "json"],
    "reconcile": ["-m", "jobs", "run-once", "reconcile"],
    "list_json": ["-m", "control_plane", "tenants", "list", "--format", "json"],
    "list_csv": ["-m", "control_plane", "tenants", "list", "--format", "csv"],
    "page": ["-c", _PAGE],
}


def measure(tree: Path, name: str, env: dict[str, str]) -> dict:
    """One command in its own process: wall seconds, peak RSS (MB, from wait4) and stdout bytes."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "python"), *COMMANDS[name]], cwd=tree,
                                env={**env, "PYTHONPATH": str(tree)}, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        size = out.seek(0, os.SEEK_END)
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()
    row = {"what": name, "s": seconds, "rss_mb": usage.ru_maxrss / 1024, "bytes": size, "exit": proc.returncode,
           "note": tail[-1][:160] if tail else ""}
    if name == "page" and proc.returncode == 0:  # the render alone, without the interpreter's start
        took, rows = tail[-1].split()
        row.update(s=float(took), note=f"first render; {rows} rows in the table; process {seconds:.1f} s")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/work/fleet-scale-data"))
    parser.add_argument("--before", type=Path, help="another tree of the code to measure first (the old code)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", default=",".join(COMMANDS))
    args = parser.parse_args()
    server = embedded.start(args.data_dir, engine="binaries")
    env = {**os.environ, "DATABASE_URL": server.url(DATABASE), "CP_DEMO": "0", "CP_RUN_SCHEDULER_IN_APP": "0",
           "CP_DATA_DIR": str(args.data_dir / "app"),
           "CP_SESSION_SECRET": os.environ.get("CP_SESSION_SECRET") or "fleet-reads-bench-session-secret-0123456789"}
    import psycopg

    from control_plane.db import privileged
    with psycopg.connect(privileged.privileged_conninfo(server.url(DATABASE))) as conn:
        n = conn.execute("SELECT count(*) FROM control_plane.tenants").fetchone()[0]
        version = conn.execute("SHOW server_version").fetchone()[0]
    print(f"{n:,} tenants, PostgreSQL {version}", flush=True)
    trees = ([("before", args.before.resolve())] if args.before else []) + [("after", ROOT)]
    results = []
    for round_ in range(args.rounds):
        for name in args.only.split(","):
            for label, tree in trees:  # before and after one beside the other: this machine's speed drifts
                row = {"tree": label, "round": round_ + 1, **measure(tree, name, env)}
                results.append(row)
                print(f"  {label:6} {name:10} {row['s']:7.2f} s  {row['rss_mb']:7.1f} MB RSS  "
                      f"{row['bytes']:>10,} B  exit {row['exit']}  {row['note']}", flush=True)
    (args.data_dir / "fleet_reads.json").write_text(json.dumps({"tenants": n, "results": results}, indent=1))


if __name__ == "__main__":
    main()
