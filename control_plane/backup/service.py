"""`backup catalog` and `backup tenants` (docs/operations.md "Backups").

Why not one pg_dump of a database: pg_dump holds a lock per table it dumps until it ends, and the
server's shared lock table holds max_locks_per_transaction × (max_connections +
max_prepared_transactions) of them; at ~5,000 tenants on the defaults a whole-database dump fails
with "out of shared memory" (issue 19). So the catalog is dumped alone (its own schema), and tenant
schemas in parts of `per_file` schemas each: one pg_dump per part, whose locks follow the part,
never the fleet.

Every file is checked before it counts: its table of contents must list what was asked for
(`pg_restore --list`, no database connection), its sha256 is taken, and a copy written to S3 is
downloaded again and its sha256 compared. A manifest (files, schemas, sizes, checksums) and a
`SHA256SUMS` file for `sha256sum -c` close the backup; a backup without its manifest is
incomplete. Tools get the pinned search_path in their conninfo and the password only in their
environment (control_plane/archive/pgtools.py), never on the command line.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg import sql

from control_plane.adapters.tenant_ddl import TEMPLATE_TABLES
from control_plane.archive import pgtools, workdir
from control_plane.archive.dumps import sha256_of
from control_plane.auth.permissions import Actor, Permission
from control_plane.aws.s3 import ArchiveStore
from control_plane.backup import destination, queries
from control_plane.backup.destination import Destination
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.authorization import authorize
from control_plane.db.models import Cluster
from control_plane.domain.slugs import schema_name
from control_plane.domain.text import CODE_MAX, clean_text
from control_plane.errors import ExternalServiceError, InvalidInput, NotFound
from control_plane.services.clusters import NAME as CLUSTER_NAME

MAX_PER_FILE = 1000
MAX_JOBS = 8
# pg_dump locks each table it dumps (not indexes or sequences); one more per tenant for slack.
LOCKS_PER_TENANT = len(TEMPLATE_TABLES) + 1
LOCK_SHARE = 0.5  # of the server's lock table, for all parts running at once; the rest is the workload's
_TOC = re.compile(r"^\d+; \d+ \d+ (SCHEMA|TABLE DATA) (\S+) (\S+) ", re.MULTILINE)


@dataclass
class BackupResult:
    kind: str  # catalog | tenants
    location: str  # where the manifest is
    cluster: str | None
    files: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    missing: list[str] = field(default_factory=list)  # placed on the cluster by the catalog, no schema there
    per_file: int | None = None

    @property
    def size_bytes(self) -> int:
        return sum(f["size_bytes"] for f in self.files)

    @property
    def schemas(self) -> int:
        return sum(len(f.get("schemas", ())) for f in self.files)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "location": self.location, "cluster": self.cluster, "files": self.files,
                "size_bytes": self.size_bytes, "schemas": self.schemas, "missing": self.missing,
                "per_file": self.per_file,
                "seconds": round(self.seconds, 3)}


def stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# --- entry points --------------------------------------------------------------------------------

def backup_catalog(ctx: AppContext, actor: Actor, target: str, *, now: datetime | None = None) -> BackupResult:
    """pg_dump of the catalog (the `control_plane` schema of DATABASE_URL's database) in custom format:
    the catalog only, whether or not the default cluster's tenants share its database."""
    dest = destination.parse(target)
    authorize(ctx, actor, Permission.BACKUPS_RUN, "backup.catalog", target=dest.describe())
    now = now or ctx.clock()
    started = time.monotonic()
    base = f"catalog/{stamp(now)}/"
    result = BackupResult("catalog", dest.describe(base + "manifest.json"), None)
    with _audited(ctx, actor, "backup.catalog", result), _writer(ctx, dest, base) as write:
        url = ctx.clusters.catalog_url
        with _connect(url) as conn:
            tables, major = queries.catalog_tables(conn), queries.server_major(conn)
        out = write.staging / "catalog.dump"
        _pg_dump(ctx, url, major, [queries.CATALOG_SCHEMA], out, what="pg_dump of the catalog")
        _require_toc(ctx, major, out, schemas=[], tables=[(queries.CATALOG_SCHEMA, t) for t in tables])
        result.files.append(write.file(out, {"schemas": [queries.CATALOG_SCHEMA], "tables": len(tables)}))
        result.seconds = time.monotonic() - started
        write.close({"kind": "catalog", "created_at": now.isoformat(), "server_major": major,
                     "schema": queries.CATALOG_SCHEMA, "files": result.files})
    return result


def backup_tenants(ctx: AppContext, actor: Actor, target: str, *, cluster: str | None = None,
                   per_file: int | None = None, jobs: int = 1, now: datetime | None = None,
                   progress: Callable[[str], None] | None = None) -> list[BackupResult]:
    """Every tenant schema the catalog places on `cluster` (default: each registered cluster), in
    parts of `per_file` schemas (None: as many as half the server's lock table allows, see
    `part_size`), `jobs` parts at a time: one pg_dump, one file and one checksum per part."""
    dest = destination.parse(target)
    names = _cluster_names(cluster)
    if per_file is not None and not _whole(per_file, 1, MAX_PER_FILE):
        raise InvalidInput(f"--per-file must be a whole number from 1 to {MAX_PER_FILE}, got {per_file!r}.")
    if not _whole(jobs, 1, MAX_JOBS):
        raise InvalidInput(f"--jobs must be a whole number from 1 to {MAX_JOBS}, got {jobs!r}.")
    authorize(ctx, actor, Permission.BACKUPS_RUN, "backup.tenants", target=dest.describe())
    now = now or ctx.clock()
    with ctx.session_factory() as session:
        clusters = _clusters(session, names)
    return [_backup_cluster(ctx, actor, dest, c, per_file=per_file, jobs=jobs, now=now, progress=progress)
            for c in clusters]


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def part_size(lock_slots: int, jobs: int) -> int:
    """Schemas per part so that `jobs` pg_dumps at once hold at most LOCK_SHARE of the lock table:
    a pg_dump's cost has a part that follows the whole database (it reads every catalog), so
    parts are made as large as the locks allow, never larger."""
    return max(1, min(MAX_PER_FILE, int(lock_slots * LOCK_SHARE) // (LOCKS_PER_TENANT * jobs)))


def _check_locks(cluster: str, per_file: int, jobs: int, lock_slots: int) -> None:
    need = per_file * jobs * LOCKS_PER_TENANT
    if need > lock_slots * LOCK_SHARE:
        raise InvalidInput(
            f"--per-file {per_file} × --jobs {jobs} would hold ~{need:,} locks on cluster {cluster!r}, more than half "
            f"its lock table ({lock_slots:,}: max_locks_per_transaction × (max_connections + "
            f"max_prepared_transactions)); use --per-file {part_size(lock_slots, jobs)} or less, or leave it out.")


def _backup_cluster(ctx: AppContext, actor: Actor, dest: Destination, cluster: Cluster, *, per_file: int | None,
                    jobs: int, now: datetime, progress: Callable[[str], None] | None) -> BackupResult:
    started = time.monotonic()
    base = f"tenants/{cluster.name}/{stamp(now)}/"
    result = BackupResult("tenants", dest.describe(base + "manifest.json"), cluster.name)
    with _audited(ctx, actor, "backup.tenants", result), _writer(ctx, dest, base) as write:
        with _connect(ctx.clusters.catalog_url) as catalog:
            slugs = queries.placed_slugs(catalog, cluster.name)
        url = ctx.clusters.url_for(cluster.url_env)
        with ctx.clusters.connect(cluster.url_env, autocommit=True) as conn:
            present, major, slots = queries.tenant_schemas(conn), queries.server_major(conn), queries.lock_slots(conn)
        if per_file is None:
            per_file = part_size(slots, jobs)
        _check_locks(cluster.name, per_file, jobs, slots)
        result.per_file = per_file
        wanted = [schema_name(s) for s in slugs]
        result.missing = [s for s in wanted if s not in present]
        schemas = [s for s in wanted if s in present]
        parts = [schemas[i:i + per_file] for i in range(0, len(schemas), per_file)]

        def one(number: int, part: list[str]) -> tuple[dict[str, Any], list[str]]:
            out = write.staging / f"part-{number:05d}.dump"
            with ctx.clusters.connect(cluster.url_env, autocommit=True) as conn:
                tables = queries.schema_tables(conn, part)  # read before the dump: it holds at least these
            _pg_dump(ctx, url, major, part, out, what=f"pg_dump of tenant part {number}")
            entries = _toc(ctx, major, out)
            dumped = {name for kind, _ns, name in entries if kind == "SCHEMA"}
            data = {(ns, name) for kind, ns, name in entries if kind == "TABLE DATA"}
            lacking = [f"{n}.{t}" for n, t in tables if n in dumped and (n, t) not in data]
            if lacking:
                raise ExternalServiceError(f"Backup part {number} of cluster {cluster.name!r} lacks the data of "
                                           f"{len(lacking)} tables ({', '.join(lacking[:5])}).")
            gone = [s for s in part if s not in dumped]
            if gone:  # dropped since the list was read (archived, moved)? then not an error
                with ctx.clusters.connect(cluster.url_env, autocommit=True) as conn:
                    still = queries.tenant_schemas(conn)
                if any(s in still for s in gone):
                    raise ExternalServiceError(f"Backup part {number} of cluster {cluster.name!r} lacks schemas "
                                               f"that exist ({', '.join(s for s in gone if s in still)[:300]}).")
            kept = [s for s in part if s in dumped]
            entry = write.file(out, {"schemas": kept})
            if progress is not None:
                progress(f"{cluster.name}: part {number}/{len(parts)} ({len(kept)} schemas)")
            return entry, gone

        with ThreadPoolExecutor(max_workers=jobs) as pool:  # each thread waits for its own pg_dump
            done = list(pool.map(one, range(1, len(parts) + 1), parts))
        for entry, gone in done:
            result.files.append(entry)
            result.missing += gone
        result.seconds = time.monotonic() - started
        write.close({"kind": "tenants", "cluster": cluster.name, "created_at": now.isoformat(),
                     "server_major": major, "per_file": per_file, "jobs": jobs, "files": result.files,
                     "missing": result.missing})
    return result


def _cluster_names(cluster: str | None) -> list[str] | None:
    if cluster is None:
        return None
    name = clean_text(cluster, "Cluster name", CODE_MAX)
    if not CLUSTER_NAME.fullmatch(name):
        raise InvalidInput(f"Invalid cluster name {name!r}: 2-40 lowercase letters, digits, '-' or '_', "
                           "starting with a letter.")
    return [name]


def _clusters(session, names: list[str] | None) -> list[Cluster]:
    from sqlalchemy import select

    query = select(Cluster).order_by(Cluster.created_at, Cluster.name)
    if names is not None:
        query = query.where(Cluster.name.in_(names))
    found = list(session.scalars(query))
    if names is not None and not found:
        known = ", ".join(session.scalars(select(Cluster.name).order_by(Cluster.name)))
        raise NotFound(f"Unknown cluster {names[0]!r}; registered clusters: {known or 'none'}.")
    for c in found:
        session.expunge(c)
    return found


# --- audit ---------------------------------------------------------------------------------------

@contextmanager
def _audited(ctx: AppContext, actor: Actor, action: str, result: BackupResult) -> Iterator[None]:
    """One audit entry per backup: `ok` with what was written, or `error` with why, in a transaction
    of its own (a backup changes no catalog row, so there is nothing else to commit with it)."""
    try:
        yield
    except Exception as exc:
        _record(ctx, actor, action, result, "error", reason=str(exc).splitlines()[0][:500] if str(exc) else None)
        raise
    _record(ctx, actor, action, result, "ok")


def _record(ctx: AppContext, actor: Actor, action: str, result: BackupResult, outcome: str, *,
            reason: str | None = None) -> None:
    with ctx.session_factory() as session:
        audit.record(session, actor, action, target=result.cluster or "catalog", outcome=outcome, reason=reason,
                     detail={"location": result.location, "files": len(result.files), "size_bytes": result.size_bytes,
                             "schemas": result.schemas, "missing": len(result.missing)})
        session.commit()


# --- tools ---------------------------------------------------------------------------------------

def _connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def _bin_dir(ctx: AppContext) -> Path | None:
    return ctx.embedded_server.bin_dir if ctx.embedded_server is not None else None


def _pg_dump(ctx: AppContext, url: str, major: int, schemas: list[str], out: Path, *, what: str) -> None:
    conninfo, env = pgtools.connection_args(url)  # the password goes in the environment only
    tool = pgtools.find_tool("pg_dump", major, _bin_dir(ctx))
    # Quoted patterns: each names exactly one schema (pg_dump reads -n as a pattern).
    switches = [f"--schema={sql.Identifier(s).as_string(None)}" for s in schemas]
    pgtools.run([str(tool), "--format=custom", "--no-password", *switches, f"--file={out}",
                 f"--dbname={conninfo}"], env, what)


def _toc(ctx: AppContext, major: int, path: Path) -> list[tuple[str, str, str]]:
    tool = pgtools.find_tool("pg_restore", major, _bin_dir(ctx))
    listing = pgtools.run([str(tool), "--list", str(path)], dict(os.environ), f"pg_restore --list of {path.name}")
    return _TOC.findall(listing.stdout.decode(errors="replace"))


def _require_toc(ctx: AppContext, major: int, path: Path, *, schemas: list[str],
                 tables: list[tuple[str, str]]) -> None:
    entries = _toc(ctx, major, path)
    have_schemas = {name for kind, _ns, name in entries if kind == "SCHEMA"}
    have_data = {(ns, name) for kind, ns, name in entries if kind == "TABLE DATA"}
    lacking = [s for s in schemas if s not in have_schemas] + [f"{n}.{t}" for n, t in tables if (n, t) not in have_data]
    if lacking:
        raise ExternalServiceError(f"The dump {path.name} lacks {len(lacking)} expected entries "
                                   f"({', '.join(lacking[:5])}); nothing was recorded as backed up.")


# --- where the files go --------------------------------------------------------------------------

class _Writer:
    """Files of one backup: into the destination folder directly, or staged in a private work folder
    and uploaded to S3 (server-side encryption), downloaded again and compared."""

    def __init__(self, dest: Destination, base: str, staging: Path, store: ArchiveStore | None) -> None:
        self.dest, self.base, self.staging, self.store = dest, base, staging, store

    def file(self, path: Path, extra: dict[str, Any]) -> dict[str, Any]:
        sha, size = sha256_of(path), path.stat().st_size
        if self.store is not None:
            key = f"{self.dest.prefix}{self.base}{path.name}"
            self.store.upload_file(path, key, metadata={"sha256": sha})
            check = path.with_suffix(".check")
            self.store.download_file(key, check)
            if sha256_of(check) != sha:
                raise ExternalServiceError(f"{self.dest.describe(self.base + path.name)} differs from the dump "
                                           "that was uploaded (sha256); the backup is incomplete.")
            check.unlink()
            path.unlink()  # one part on disk at a time
        return {"name": path.name, "sha256": sha, "size_bytes": size, **extra}

    def close(self, manifest: dict[str, Any]) -> None:
        """The manifest last: a backup folder or prefix without one is incomplete."""
        import json

        sums = destination.checksum_lines(manifest["files"])
        if self.store is not None:
            self.store.put_bytes(f"{self.dest.prefix}{self.base}SHA256SUMS", sums.encode())
            self.store.put_json(f"{self.dest.prefix}{self.base}manifest.json", manifest)
            return
        (self.staging / "SHA256SUMS").write_text(sums, encoding="utf-8")
        (self.staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


@contextmanager
def _writer(ctx: AppContext, dest: Destination, base: str) -> Iterator[_Writer]:
    if dest.bucket is None:
        assert dest.folder is not None
        folder = destination.private_folder(dest.folder)
        for part in base.strip("/").split("/"):
            folder = destination.private_folder(folder / part)
        yield _Writer(dest, base, folder, None)
        return
    store = ArchiveStore(ctx.aws.client("s3"), dest.bucket)
    with workdir.work_folder(ctx.settings.work_dir or workdir.default_parent(), "backup") as staging:
        yield _Writer(dest, base, staging, store)
