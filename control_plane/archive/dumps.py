"""Dump one tenant schema; load a dump's rows into the tenant template.

The row counts recorded with a dump are taken in the very snapshot pg_dump uses (exported from a
REPEATABLE READ transaction), so "same counts" means "same rows as the dump", not "same rows as
a moment later".

Loading never runs the dump's SQL. A custom-format dump is a list of SQL texts, and pg_restore
executes them as written: a CHECK constraint or a column DEFAULT inside a TABLE entry, a trigger,
a SECURITY DEFINER function, an ALTER ... OWNER, a GRANT, even the COPY statement of a data entry
are whatever the file says. Filtering the TOC by kind (`pg_restore -l` / `-L`) cannot remove a
CHECK that lives inside CREATE TABLE, and a crafted entry of an allowed kind can carry any
statement. So the schema is rebuilt from our own tenant template, and pg_restore is used only as a
file reader (`--data-only --file=-`, no database connection): from its output we take nothing but
the rows of COPY blocks for template tables (their column list checked against the template, our
own COPY statement sent with quoted identifiers) and sequence positions parsed as numbers. The
rows are loaded as the tenant role (`SET LOCAL ROLE`), so even the data load runs with no more
rights than the tenant has every day.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from control_plane.archive import pgtools, queries
from control_plane.errors import Conflict, ExternalServiceError


class ArchiveRejected(Conflict):
    """The dump does not fit the tenant template (or is not a readable dump); nothing was loaded."""


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
    tables = [r[0] for r in conn.execute(queries.TABLES, (schema,))]
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



# --- loading a dump's rows into the tenant template -------------------------------------------

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_IDENT_RE = re.compile(_IDENT)
_COPY_RE = re.compile(rf"^COPY ({_IDENT})\.({_IDENT}) \(((?:{_IDENT})(?:, {_IDENT})*)\) FROM stdin;\n$")
_SETVAL_RE = re.compile(r"^SELECT pg_catalog\.setval\('((?:[^']|'')+)', (\d{1,19}), (true|false)\);\n$")
_ENCODING_RE = re.compile(r"^SET client_encoding = '([A-Za-z0-9_]+)';\n$")
_TOC_RE = re.compile(r"^\d+; \d+ \d+ (TABLE DATA|SEQUENCE SET) (\S+) (\S+) ")
_END_OF_COPY = b"\\.\n"
_BIGINT_MAX = 2**63 - 1
_BATCH = 1 << 20


def _ident(token: str) -> str:
    """An identifier as PostgreSQL reads it: quoted verbatim, bare folded to lower case."""
    if token.startswith('"'):
        return token[1:-1].replace('""', '"')
    return token.lower()


def _idents(text: str) -> list[str]:
    return [_ident(t) for t in _IDENT_RE.findall(text)]


def template_columns(conn: psycopg.Connection, schema: str) -> dict[str, list[str]]:
    rows = conn.execute(queries.TEMPLATE_COLUMNS, (schema,)).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def load_order(conn: psycopg.Connection, schema: str, tables: list[str]) -> list[str]:
    """Referenced tables before the tables whose foreign keys point at them (the template's
    constraints are checked row by row as the data arrives)."""
    edges = conn.execute(queries.FOREIGN_KEYS, (schema,)).fetchall()
    needs = {t: {ref for child, ref in edges if child == t and ref in tables} for t in tables}
    order: list[str] = []
    while needs:
        ready = sorted(t for t, refs in needs.items() if refs <= set(order))
        if not ready:
            raise ArchiveRejected(f"Tenant template tables {sorted(needs)} reference each other in a cycle; "
                                  "the archive loader cannot order them.")
        order += ready
        for t in ready:
            del needs[t]
    return order


def _identity_sequences(conn: psycopg.Connection, schema: str) -> list[tuple[str, str, str]]:
    """(sequence, table, column) of every identity or serial column of the schema."""
    return conn.execute(queries.IDENTITY_SEQUENCES, (schema,)).fetchall()


@dataclass(frozen=True)
class LoadResult:
    counts: dict[str, int]
    ignored: list[str]  # data entries of the dump that are not template tables (never loaded)


def load_into_template(conn: psycopg.Connection, dump: Path, *, source_schema: str, target_schema: str,
                       role: str, tool: Path, work: Path) -> LoadResult:
    """Load the rows of a one-schema dump into `target_schema`, which the caller has just built
    from the tenant template inside the transaction `conn` is in (committing is the caller's).

    Only TABLE DATA of template tables and SEQUENCE SET entries of `source_schema` are read; the
    rows go in as `role`. Raises ArchiveRejected when the dump is unreadable or does not fit."""
    columns = template_columns(conn, target_schema)
    order = load_order(conn, target_schema, list(columns))
    try:  # pg_restore only reads the file here and below: it never connects to a database
        listing = pgtools.run([str(tool), "--list", str(dump)], dict(os.environ), "pg_restore --list")
    except ExternalServiceError as exc:
        raise ArchiveRejected(f"The archive is not a readable pg_dump archive ({exc}).") from exc
    wanted: dict[str, str] = {}
    sequences: list[str] = []
    ignored: list[str] = []
    for line in listing.stdout.decode(errors="replace").splitlines():
        match = _TOC_RE.match(line)
        if not match:
            continue
        kind, namespace, name = match.groups()
        if namespace != source_schema:
            ignored.append(f"{namespace}.{name}")
        elif kind == "SEQUENCE SET":
            sequences.append(line)
        elif name in columns:
            wanted[name] = line
        else:
            ignored.append(f"{namespace}.{name}")
    use_list = work / "restore.list"
    use_list.write_text("".join(wanted[t] + "\n" for t in order if t in wanted) + "".join(s + "\n" for s in sequences))

    s = sql.Identifier(target_schema)
    # Per table by name: `ON ALL TABLES IN SCHEMA` would scan the whole pg_class (tests/unit/
    # test_no_catalog_wide_statements.py).
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {s} TO {r}; GRANT INSERT ON TABLE {ts} TO {r}").format(
        s=s, r=sql.Identifier(role), ts=sql.SQL(", ").join(sql.Identifier(target_schema, t) for t in columns)))
    conn.execute("SET LOCAL client_encoding = 'UTF8'; SET LOCAL DateStyle = 'ISO, MDY'; "
                 "SET LOCAL IntervalStyle = 'postgres'")
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
    with (work / "pg_restore.err").open("w+b") as errors:
        proc = pgtools.popen([str(tool), "--data-only", f"--use-list={use_list}", "--file=-", str(dump)],
                             dict(os.environ), stdout=subprocess.PIPE, stderr=errors)
        try:
            try:
                positions = _stream(conn, iter(proc.stdout), source_schema=source_schema, target=s, columns=columns)
            except (psycopg.DataError, psycopg.IntegrityError) as exc:
                raise ArchiveRejected(f"The archive's rows do not fit the tenant template: "
                                      f"{exc.diag.message_primary or exc}") from exc
            proc.stdout.close()
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if code != 0:
            errors.seek(0)
            raise ArchiveRejected(f"The archive is not a readable pg_dump archive: {_tail(errors.read())}")
    conn.execute("RESET ROLE")
    for seq, table, column in _identity_sequences(conn, target_schema):
        # Where the sequence stood in the dump, but never below the highest value loaded.
        (highest,) = conn.execute(sql.SQL("SELECT max({c}) FROM {s}.{t}").format(
            c=sql.Identifier(column), s=s, t=sql.Identifier(table))).fetchone()
        known = [v for v in (positions.get(seq), highest) if v is not None]
        if known:
            value = max(known)
            conn.execute("SELECT pg_catalog.setval(%s::regclass, %s, true)",
                         (sql.Identifier(target_schema, seq).as_string(conn), value))
    return LoadResult(table_counts(conn, target_schema), ignored)


def _stream(conn: psycopg.Connection, lines: Iterator[bytes], *, source_schema: str, target: sql.Identifier,
            columns: dict[str, list[str]]) -> dict[str, int]:
    """Read pg_restore's script output; act only on COPY blocks and setval positions (returned)."""
    positions: dict[str, int] = {}
    loaded: set[str] = set()
    cur = conn.cursor()
    for raw in lines:
        line = raw.decode("utf-8", errors="replace")
        if line.startswith("SET client_encoding"):
            match = _ENCODING_RE.match(line)
            if not match or match.group(1).upper() not in ("UTF8", "UTF-8"):
                raise ArchiveRejected(f"The archive is not UTF8-encoded ({line.strip()[:80]}); it cannot be loaded.")
        elif line.startswith("COPY "):
            table, cols = _copy_target(line, source_schema, columns)
            if table in loaded:
                raise ArchiveRejected(f"The archive holds the rows of table {table} twice; refusing it.")
            loaded.add(table)
            statement = sql.SQL("COPY {s}.{t} ({c}) FROM STDIN").format(
                s=target, t=sql.Identifier(table), c=sql.SQL(", ").join(map(sql.Identifier, cols)))
            with cur.copy(statement) as copy:
                _copy_rows(copy, lines, table)
        elif line.startswith("SELECT pg_catalog.setval("):
            match = _SETVAL_RE.match(line)
            if match is None:
                raise ArchiveRejected(f"The archive sets a sequence in a form this loader does not read: "
                                      f"{line.strip()[:120]}")
            name = _idents(match.group(1).replace("''", "'"))
            value, called = int(match.group(2)), match.group(3) == "true"
            if len(name) == 2 and name[0] == source_schema and called and 1 <= value <= _BIGINT_MAX:
                positions[name[1]] = value
    return positions


def _copy_target(line: str, source_schema: str, columns: dict[str, list[str]]) -> tuple[str, list[str]]:
    match = _COPY_RE.match(line)
    if match is None:
        raise ArchiveRejected(f"The archive has a data entry this loader does not read: {line.strip()[:120]}")
    schema, table = _ident(match.group(1)), _ident(match.group(2))
    cols = _idents(match.group(3))
    if schema != source_schema or table not in columns:
        raise ArchiveRejected(f"The archive has rows for {schema}.{table}, which is not a tenant template table.")
    unknown = [c for c in cols if c not in columns[table]]
    if unknown or len(set(cols)) != len(cols):
        raise ArchiveRejected(f"The archive's table {table} has columns the tenant template does not "
                              f"({', '.join(unknown) or 'a column twice'}); refusing it.")
    return table, cols


def _copy_rows(copy: psycopg.Copy, lines: Iterator[bytes], table: str) -> None:
    """COPY text rows up to the end marker, in batches; the server parses them as data only."""
    batch = bytearray()
    for raw in lines:
        if raw == _END_OF_COPY:
            if batch:
                copy.write(bytes(batch))
            return
        batch += raw
        if len(batch) >= _BATCH:
            copy.write(bytes(batch))
            batch.clear()
    raise ArchiveRejected(f"The archive ends inside the rows of table {table}; it is truncated.")


def _tail(output: bytes) -> str:
    lines = output.decode(errors="replace").strip().splitlines()
    return " | ".join(lines[-3:]) or "no output"
