"""Dump one tenant schema, restore it, and restore it under another name for verification.

The row counts recorded with a dump are taken in the very snapshot pg_dump uses (exported from a
REPEATABLE READ transaction), so "same counts" means "same rows as the dump", not "same rows as
a moment later".
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from control_plane.archive import pgtools
from control_plane.errors import ExternalServiceError


@dataclass(frozen=True)
class DumpResult:
    path: Path
    size_bytes: int
    sha256: str
    counts: dict[str, int]
    server_major: int
    tool: str


def server_major(conn: psycopg.Connection) -> int:
    return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000


def table_counts(conn: psycopg.Connection, schema: str) -> dict[str, int]:
    tables = [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 1", (schema,))]
    if not tables:
        return {}
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {name}, count(*) FROM {s}.{t}").format(name=sql.Literal(t), s=sql.Identifier(schema),
                                                               t=sql.Identifier(t))
        for t in tables)
    return {name: int(n) for name, n in conn.execute(query)}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dump_schema(url: str, schema: str, out: Path, bin_dir: Path | None = None) -> DumpResult:
    """pg_dump -n SCHEMA in custom format, with per-table row counts from the same snapshot."""
    conninfo, env = pgtools.connection_args(url)
    with psycopg.connect(url) as conn:
        major = server_major(conn)
        tool = pgtools.find_tool("pg_dump", major, bin_dir)
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        counts = table_counts(conn, schema)
        # The exporting transaction must stay open while pg_dump imports its snapshot.
        pgtools.run([str(tool), "--format=custom", "--strict-names", f"--schema={schema}", f"--snapshot={snapshot}",
                     "--no-password", f"--file={out}", f"--dbname={conninfo}"], env, f"pg_dump of schema {schema}")
        conn.execute("COMMIT")
    return DumpResult(out, out.stat().st_size, sha256_of(out), counts, major, str(tool))


def restore_schema(url: str, dump: Path, bin_dir: Path | None = None) -> None:
    """pg_restore into the schema named in the dump, all or nothing; objects owned by whoever runs it."""
    conninfo, env = pgtools.connection_args(url)
    with psycopg.connect(url) as conn:
        major = server_major(conn)
    tool = pgtools.find_tool("pg_restore", major, bin_dir)
    pgtools.run([str(tool), "--single-transaction", "--exit-on-error", "--no-owner", "--no-password",
                 f"--dbname={conninfo}", str(dump)], env, "pg_restore")


def _rename(line: bytes, pattern: re.Pattern[bytes], replacement: bytes) -> bytes:
    return pattern.sub(replacement, line)


def restore_as(url: str, dump: Path, source_schema: str, target_schema: str, bin_dir: Path | None = None) -> None:
    """Restore a one-schema dump under another schema name, in one transaction.

    pg_restore has no rename option, so its SQL output is streamed through a filter that renames the
    schema in statements only (never inside COPY data), with ownership and privileges left out (the
    tenant role shares the schema's name), into psql."""
    conninfo, env = pgtools.connection_args(url)
    with psycopg.connect(url) as conn:
        major = server_major(conn)
    restore_tool = pgtools.find_tool("pg_restore", major, bin_dir)
    psql_tool = pgtools.find_tool("psql", major, bin_dir)
    pattern = re.compile(rb"(?<![A-Za-z0-9_$])" + re.escape(source_schema.encode()) + rb"(?![A-Za-z0-9_$])")
    target = target_schema.encode()
    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_out:
        producer = subprocess.Popen([str(restore_tool), "--no-owner", "--no-acl", "--file=-", str(dump)],
                                    stdout=subprocess.PIPE, stderr=restore_err, env=env)
        consumer = subprocess.Popen([str(psql_tool), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                                     "--no-password", f"--dbname={conninfo}"],
                                    stdin=subprocess.PIPE, stdout=psql_out, stderr=subprocess.STDOUT, env=env)
        failure: list[BaseException] = []

        def pump() -> None:
            in_copy = False
            try:
                for line in producer.stdout:
                    if in_copy:
                        if line == b"\\.\n":
                            in_copy = False
                        consumer.stdin.write(line)
                        continue
                    if line.startswith(b"COPY ") and line.rstrip().endswith(b"FROM stdin;"):
                        in_copy = True
                    consumer.stdin.write(_rename(line, pattern, target))
            except (BrokenPipeError, OSError) as exc:  # psql stopped on an error; its output says why
                failure.append(exc)
            finally:
                try:
                    consumer.stdin.close()
                except OSError:
                    pass

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        thread.join()
        producer.wait()
        consumer.wait()
        if producer.returncode != 0:
            restore_err.seek(0)
            raise ExternalServiceError(f"pg_restore of the dump failed: {_tail(restore_err.read())}")
        if consumer.returncode != 0:
            psql_out.seek(0)
            raise ExternalServiceError(f"restoring the dump into {target_schema} failed: {_tail(psql_out.read())}")


def _tail(output: bytes) -> str:
    lines = output.decode(errors="replace").strip().splitlines()
    return " | ".join(lines[-3:]) or "no output"
