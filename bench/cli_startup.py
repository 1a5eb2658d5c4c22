"""Start-up of the read commands: wall time and peak RSS of `python -m control_plane ...` per
command, next to `python -c "import sqlalchemy, psycopg"` (issue 10 "Performance": `tenants show`
at most 1.3x that baseline and 90 MiB).

    .venv/bin/python bench/cli_startup.py [--runs 5] [--tree DIR ...] [--only LABEL ...]

Creates a throw-away embedded catalog (CP_DATA_DIR in a temporary directory) with three tenants,
a few subscription changes and a day of checks, keeps its server up for the whole run (as the app
would be), then runs every command as a child process `--runs` times and prints the median wall
time, the median peak resident set size (ru_maxrss from os.wait4: that child alone, not the
database server) and the ratio to the baseline. This machine's speed drifts 2-3x within a minute,
so the variants are alternated: each round runs every command of every tree (and the baseline)
once, in an order reversed on every other round; `cpu x` (median user + system CPU time of the
child over the baseline's) moves less than wall time when other work shares the machine.
`--tree DIR` adds another checkout to compare (e.g. `git worktree add /tmp/cli-before HEAD`);
each tree's commands run with this interpreter and that tree as the working directory, so
`-m control_plane` is that tree's package, against a catalog of its own (seeded the same way: a
tree may not know the other's migrations). Outputs are compared across trees (`same output`
column; times of today, such as created_at, masked), and stderr lines with RuntimeDirWarning are
counted (`warn`).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from control_plane.db import embedded  # noqa: E402

SLUG = "acme"
TENANTS = (("acme", "Acme Corp", "team"), ("globex", "Globex", "business"), ("initech", "Initech", "starter"))
BASELINE = ("baseline: import sqlalchemy, psycopg", ["-c", "import sqlalchemy, psycopg"])
GROUPS = ("db", "tenants", "users", "billing", "uptime", "clusters", "scaling", "demo")
COMMANDS: list[tuple[str, list[str]]] = [
    (f"tenants show {SLUG}", ["tenants", "show", SLUG]),
    ("tenants list --format json", ["tenants", "list", "--format", "json"]),
    ("clusters list --format json", ["clusters", "list", "--format", "json"]),
    ("billing mrr --format json", ["billing", "mrr", "--from", "2025-01", "--to", "2025-06", "--format", "json"]),
    ("billing plans list --format json", ["billing", "plans", "list", "--format", "json"]),
    ("uptime report --format json", ["uptime", "report", "--from", "2025-01-01", "--to", "2025-01-02",
                                     "--format", "json"]),
    ("scaling decisions --format json", ["scaling", "decisions", "--format", "json"]),
    ("--help", ["--help"]),
    *[(f"{group} --help", [group, "--help"]) for group in GROUPS],
]


_today = re.compile(re.escape(datetime.now(UTC).date().isoformat()) + r"[T ][0-9:.+-]+")


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    outputs: set[str] = field(default_factory=set)
    codes: set[int] = field(default_factory=set)
    warnings: int = 0


def run_child(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int, int, str, str]:
    """Wall time, CPU time (user + system), peak RSS (KiB), exit code, stdout, stderr of one
    child, measured alone."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, *argv], cwd=cwd, env=env, stdout=out, stderr=err,
                                 stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, child.returncode,
                out.read().decode(), err.read().decode())


def seed(tree: Path, env: dict[str, str], folder: Path) -> None:
    """Three tenants, their subscription history and a day of checks, through the CLI."""
    billing = folder / "billing.csv"
    billing.write_text("tenant,effective_date,plan,interval,price,seats,discount_percent,status\n" + "".join(
        f"{slug},2025-0{month}-01,{plan},month,{49 + month}.00,{1 + month},0,active\n"
        for slug, _, plan in TENANTS for month in range(1, 4)))
    checks = folder / "checks.csv"
    checks.write_text("target,checked_at,ok,latency_ms\n" + "".join(
        f"{slug},2025-01-01T{hour:02d}:00:00+00:00,{'false' if hour in (3, 4, 5) else 'true'},{20 + hour}\n"
        for slug, _, _ in TENANTS for hour in range(24)))
    steps = [["tenants", "provision", slug, "--name", name, "--plan", plan] for slug, name, plan in TENANTS]
    steps += [["billing", "import", str(billing)], ["uptime", "import", str(checks)]]
    for step in steps:
        _, _, _, code, _, err = run_child(["-m", "control_plane", *step], tree, env)
        if code != 0:
            raise SystemExit(f"seeding failed: {' '.join(step)}: {err.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per command and tree (median)")
    parser.add_argument("--tree", action="append", type=Path, default=[],
                        help="another checkout to measure alongside this one (first column)")
    parser.add_argument("--only", action="append", default=[], help="only commands whose label contains this")
    args = parser.parse_args()
    trees = [ROOT, *(t.resolve() for t in args.tree)]
    commands = [c for c in COMMANDS if not args.only or any(o in c[0] for o in args.only)]

    with tempfile.TemporaryDirectory(prefix="cli-startup-") as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o755)  # as root the server runs as `postgres`, which must reach the data
        base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}
        envs = {tree: {**base_env, "CP_DATA_DIR": str(folder / f"data{n}")} for n, tree in enumerate(trees)}
        # Kept up for the whole run, as a running app keeps it: the commands attach to it.
        servers = [embedded.start(Path(env["CP_DATA_DIR"])) for env in envs.values()]
        try:
            for tree in trees:
                seed(tree, envs[tree], folder)
            variants = [(BASELINE[0], ROOT, BASELINE[1])]
            variants += [(label, tree, ["-m", "control_plane", *argv]) for tree in trees for label, argv in commands]
            samples = {(label, tree): Samples() for label, tree, _ in variants}
            for _, tree, argv in variants:  # warm-up: bytecode caches written, pages cached
                run_child(argv, tree, envs[tree])
            for round_no in range(args.runs):
                for label, tree, argv in variants if round_no % 2 == 0 else reversed(variants):
                    seconds, cpu, rss, code, out, err = run_child(argv, tree, envs[tree])
                    sample = samples[(label, tree)]
                    sample.seconds.append(seconds)
                    sample.cpu.append(cpu)
                    sample.rss_kib.append(rss)
                    sample.codes.add(code)
                    sample.outputs.add(_today.sub("<today>", out))
                    sample.warnings += err.count("RuntimeDirWarning")
        finally:
            for server in servers:
                server.stop()

    base = statistics.median(samples[(BASELINE[0], ROOT)].seconds)
    base_cpu = statistics.median(samples[(BASELINE[0], ROOT)].cpu)
    print(f"{args.runs} runs each, alternated; embedded server: {servers[0].engine}; python {sys.version.split()[0]}")
    header = f"{'command':<36}"
    for number in range(len(trees)):
        header += f" | {f'[{number}] s':>8} {'x base':>6} {'cpu x':>6} {'MiB':>6} {'exit':>4} {'warn':>4}"
    print(header + (" | same output" if len(trees) > 1 else ""))
    print("-" * len(header))
    rows = [(BASELINE[0], [ROOT])] + [(label, trees) for label, _ in commands]
    for label, row_trees in rows:
        line = f"{label:<36}"
        for tree in row_trees:
            s = samples[(label, tree)]
            median = statistics.median(s.seconds)
            line += (f" | {median:8.3f} {median / base:6.2f} {statistics.median(s.cpu) / base_cpu:6.2f} "
                     f"{statistics.median(s.rss_kib) / 1024:6.1f} "
                     f"{','.join(map(str, sorted(s.codes))):>4} {s.warnings:>4}")
        if len(row_trees) > 1:
            outputs = [samples[(label, tree)].outputs for tree in row_trees]
            line += " | " + ("yes" if all(o == outputs[0] for o in outputs) else "NO")
        print(line)
    for number, tree in enumerate(trees):
        print(f"[{number}] {tree}")


if __name__ == "__main__":
    main()
