"""Shared CLI plumbing: a parser that fails in one line, the acting user, output formats."""

from __future__ import annotations

import argparse
import csv
import getpass
import itertools
import json
import sys
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn

from control_plane import csv_safety
from control_plane.auth.permissions import Actor, Permission, system_actor

if TYPE_CHECKING:
    import psycopg

    from control_plane.context import AppContext

_context: AppContext | None = None


class CliParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def context() -> AppContext:
    """One AppContext per CLI process, built on first use (starts the embedded DB if needed)."""
    global _context  # noqa: PLW0603 - one context per CLI process
    if _context is None:
        from control_plane.bootstrap import bootstrap

        _context = bootstrap()
    return _context


def read_connection(who: Actor, permission: Permission) -> psycopg.Connection | None:
    """A read command's fast path (docs/cli.md "Command line"): a catalog connection without the
    bootstrap, when `who` holds `permission` and the catalog is up and at head
    (control_plane/db/catalog_conn.py). None otherwise: the command then calls its service with
    `context()`, which starts or migrates the catalog and audits a refusal (an allowed read
    writes no audit entry either way)."""
    if not who.can(permission):
        return None
    from control_plane.config import Settings
    from control_plane.db.catalog_conn import connect_current

    return connect_current(Settings.from_env())


def close_context() -> None:
    global _context  # noqa: PLW0603
    if _context is not None:
        _context.close()
        _context = None


def add_actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor", default=None,
                        help="who is acting, for the audit log (default: the OS user)")


def actor(args: argparse.Namespace) -> Actor:
    """The CLI acts with operator (admin) rights: whoever holds the catalog credentials has them.
    The name is what the audit log records."""
    name = getattr(args, "actor", None) or _os_user()
    return system_actor(f"cli:{name}")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def add_format(parser: argparse.ArgumentParser, default: str = "table",
               choices: tuple[str, ...] = ("json", "csv", "table")) -> None:
    parser.add_argument("--format", choices=choices, default=default, help=f"output format (default {default})")


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def emit(rows: Iterable[Mapping[str, Any]] | Mapping[str, Any], fmt: str, columns: list[str] | None = None) -> None:
    single = isinstance(rows, Mapping)
    items = [dict(rows)] if single else [dict(r) for r in rows]
    if fmt == "json":
        payload = [{k: _plain(v) for k, v in r.items()} for r in items]
        # written in batches: json.dump writes each of a 20,000-row report's ~700,000 pieces on its
        # own (a second of writes), json.dumps holds the whole text and its pieces at once
        pieces: list[str] = []
        for piece in json.JSONEncoder(indent=2, default=str).iterencode(payload[0] if single else payload):
            pieces.append(piece)
            if len(pieces) >= 8192:
                sys.stdout.write("".join(pieces))
                pieces.clear()
        sys.stdout.write("".join(pieces) + "\n")
        return
    cols = columns or (list(items[0].keys()) if items else [])
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in items:  # formula-safe before _plain turns Decimals into text: amounts stay numbers
            writer.writerow({k: _plain(csv_safety.cell(r.get(k))) for k in cols})
        return
    if not items:
        print("(none)")
        return
    cells = [[("" if r.get(c) is None else str(_plain(r.get(c)))) for c in cols] for r in items]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def emit_stream(rows: Iterable[Mapping[str, Any]], fmt: str, columns: list[str]) -> None:
    """emit() of a list, byte for byte, written as the rows come: json and csv hold one row at a
    time (`tenants list` at 20,000 tenants, issue 19); a table needs every width first, so it
    takes them all."""
    if fmt == "table":
        emit(list(rows), fmt, columns)
        return
    rows = iter(rows)
    head = next(rows, None)  # a database that fails, fails before the first line is written
    rows = itertools.chain([] if head is None else [head], rows)
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _plain(csv_safety.cell(r.get(k))) for k in columns})
        return
    first = True
    for r in rows:
        item = json.dumps({k: _plain(v) for k, v in r.items()}, indent=2, default=str)
        sys.stdout.write(("[\n" if first else ",\n") + "\n".join("  " + line for line in item.split("\n")))
        first = False
    sys.stdout.write("[]\n" if first else "\n]\n")


class Progress:
    """A progress line on stderr: redrawn in place on a terminal, every 10% otherwise."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done, self._last_decile = total, label, 0, -1
        self.tty = sys.stderr.isatty()

    def step(self, failed: int = 0) -> None:
        self.done += 1
        pct = 100 * self.done // max(self.total, 1)
        text = f"{self.label}: {self.done}/{self.total} ({pct}%)" + (f", {failed} failed" if failed else "")
        if self.tty:
            bar = "#" * (pct // 5)
            sys.stderr.write(f"\r[{bar:<20}] {text}")
            if self.done == self.total:
                sys.stderr.write("\n")
        elif pct // 10 != self._last_decile or self.done == self.total:
            self._last_decile = pct // 10
            sys.stderr.write(text + "\n")
        sys.stderr.flush()
