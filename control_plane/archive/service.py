"""Archive and restore (admin only; support may request an archive, which an admin approves or
declines: control_plane/archive/requests.py).

archive: active|suspended → archiving → archived
  1. one transaction: status `archiving`, the tenant role loses its table access (so nothing is
     written after the dump), audit entry with the previous status;
  2. pg_dump -n of the schema (row counts taken in the dump's own snapshot) into a private work
     folder → S3, with server-side encryption requested, plus a manifest for people (counts,
     sha256, versions);
  3. verify what S3 holds: download, compare with the sha256 of the dump we made, load its rows
     into the tenant template in a scratch schema (one transaction, always rolled back), compare
     row counts per table;
  4. record the verified archive in the catalog: URI, sha256, size and row counts;
  5. check the objects are still in S3 (a re-run makes a fresh archive while the schema exists
     when they are not), then one transaction: lock the tables, recount (still the dumped rows?),
     drop schema and role, status `archived`, purge date, audit entry.
  Any failure in 2-3 puts the tenant back exactly as it was (status, access, no archive recorded)
  and deletes the unverified objects. A crash anywhere leaves `archiving`; running archive again
  picks up from what is recorded (verified archive or not, schema present or not), and
  `tenants archive cancel SLUG` puts an `archiving` tenant whose schema still exists back to its
  previous status and access.

restore: archived → active — download, refuse an object whose sha256 is not the one the catalog
  recorded, recreate the role, rebuild the schema from the tenant template and load only the
  dump's rows (as the tenant role; control_plane/archive/dumps.py says why no SQL of the dump is
  ever run), compare the counts with the catalog's, all in one transaction; grant access, status
  `active`. A re-run after a crash finds the restored schema, checks its counts and finishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.adapters import tenant_ddl
from control_plane.adapters.cluster_catalog import inspect_tenant
from control_plane.archive import dumps, pgtools, requests, workdir
from control_plane.auth.permissions import Actor, Permission
from control_plane.aws.s3 import ArchiveStore, parse_uri
from control_plane.context import AppContext
from control_plane.core import audit, lookups
from control_plane.core.authorization import authorize
from control_plane.core.faults import FaultHook, no_fault
from control_plane.core.tenant_view import TenantView, view
from control_plane.db.models import AuditEntry, Cluster, Tenant
from control_plane.domain.lifecycle import Status
from control_plane.domain.slugs import role_name, schema_name, validate_slug
from control_plane.errors import Conflict, ControlPlaneError, ExternalServiceError
from control_plane.moves import ledger as moves_ledger
from control_plane.revenue import hooks
from control_plane.tenant_schema import queries as schema_queries
from control_plane.tenant_schema import revisions, template

SCRATCH_PREFIX = "cp_verify_"


class VerificationFailed(ExternalServiceError):
    """The dump in S3 does not restore to the rows that were dumped; nothing was dropped."""


class ArchiveTampered(Conflict):
    """The object in S3 is not the archive the catalog recorded; nothing was restored."""


@dataclass(frozen=True)
class Recorded:
    """A verified archive as the catalog knows it."""

    uri: str
    sha256: str
    size_bytes: int
    tables: dict[str, int]


@dataclass(frozen=True)
class ArchivePlan:
    slug: str
    previous_status: str
    cluster: Cluster
    recorded: Recorded | None
    previous_updated_at: datetime | None = None  # known when this run started the archive


# --- requests (control_plane/archive/requests.py) ---------------------------------------------

request_archive = requests.request_archive
pending_archive_requests = requests.pending_archive_requests
decline_archive_request = requests.decline_archive_request


def approve_archive_request(ctx: AppContext, actor: Actor, slug: str, *,
                            fault: FaultHook = no_fault) -> TenantView:
    """An admin approves the tenant's pending request: the archive runs, and the transaction that
    marks the tenant archived settles the request (approved, by this admin). A failed archive
    leaves the request pending, so it stays in the queue."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_ARCHIVE, "tenant.archive.request.approve", tenant_slug=slug)
    requests.require_pending(ctx, slug)
    return archive_tenant(ctx, actor, slug, fault=fault)


# --- archive ---------------------------------------------------------------------------------

def archive_tenant(ctx: AppContext, actor: Actor, slug: str, *, fault: FaultHook = no_fault) -> TenantView:
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_ARCHIVE, "tenant.archive", tenant_slug=slug)
    plan = _start_archive(ctx, actor, slug)
    if plan is None:
        return show_tenant(ctx, slug)
    fault("started")
    recorded = plan.recorded
    for _attempt in range(2):  # a second pass only when the recorded objects vanished from S3
        schema_present = _schema_exists(ctx, plan.cluster, slug)
        if recorded is None:
            if not schema_present:
                raise Conflict(f"Tenant {slug!r} is archiving but its schema is gone and no verified archive is "
                               "recorded; check the audit log and the reconcile report before doing anything.")
            uploaded: list[str] = []
            try:
                recorded = _dump_upload_verify(ctx, plan, fault, uploaded)
            except Exception as exc:
                _abandon(ctx, actor, plan, exc)  # access back first: deleting may wait on a hung S3 too
                if uploaded:
                    _delete_quietly(ctx.aws.archives(ctx.settings.archive_bucket), uploaded)
                raise
            _record(ctx, plan, recorded)
            fault("verified_recorded")
        if schema_present and not _still_in_s3(ctx, slug, recorded):
            _forget(ctx, actor, plan, recorded)  # the schema is the only copy: make a fresh archive of it
            recorded = None
            continue
        return _finish_archive(ctx, actor, plan, recorded, schema_present=schema_present, fault=fault)
    raise ExternalServiceError(f"The archive objects of {slug!r} vanished from S3 twice right after they were "
                               f"verified; nothing was dropped. Check the bucket's lifecycle rules and who deletes "
                               f"objects there, then run `tenants archive {slug}` again or `tenants archive cancel "
                               f"{slug}`.")


def _start_archive(ctx: AppContext, actor: Actor, slug: str) -> ArchivePlan | None:
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, slug, lock=True)
        if tenant.status == Status.ARCHIVED:
            audit.record(session, actor, "tenant.archive", tenant_slug=slug, outcome="noop",
                         after={"status": tenant.status, "archive_uri": tenant.archive_uri})
            session.commit()
            return None
        if tenant.status not in (Status.ACTIVE, Status.SUSPENDED, Status.ARCHIVING):
            raise Conflict(f"Cannot archive tenant {slug!r}: it is {tenant.status}.")
        moves_ledger.refuse_if_moving(session, slug, "archive")
        cluster = session.get(Cluster, tenant.cluster_name)
        if tenant.status == Status.ARCHIVING:  # an earlier run stopped half-way: carry on from there
            return ArchivePlan(slug, _previous_status(session, slug), cluster, _recorded(tenant))
        previous = tenant.status
        with ctx.clusters.for_ddl(session, cluster.url_env) as conn:
            if inspect_tenant(conn, slug).schema_exists:
                conn.execute(tenant_ddl.revoke_access(slug))  # no writes after the dump
        before_update = tenant.updated_at
        tenant.status, tenant.updated_at = Status.ARCHIVING, datetime.now(UTC)
        _clear_archive(tenant)
        audit.record(session, actor, "tenant.archive.start", tenant_slug=slug, before={"status": previous},
                     after={"status": Status.ARCHIVING.value})
        session.commit()
        return ArchivePlan(slug, previous, cluster, None, before_update)


def _recorded(tenant: Tenant) -> Recorded | None:
    """The catalog's verified archive, if complete (a URI recorded before checksums were kept in
    the catalog is treated as no archive: the re-run makes a fresh one)."""
    if not (tenant.archive_uri and tenant.archive_sha256 and isinstance(tenant.archive_tables, dict)):
        return None
    return Recorded(tenant.archive_uri, tenant.archive_sha256, int(tenant.archive_size_bytes or 0),
                    {k: int(v) for k, v in tenant.archive_tables.items()})


def _clear_archive(tenant: Tenant) -> None:
    tenant.archive_uri = tenant.archive_sha256 = tenant.archive_size_bytes = tenant.archive_tables = None


def _dump_upload_verify(ctx: AppContext, plan: ArchivePlan, fault: FaultHook, uploaded: list[str]) -> Recorded:
    """Returns the verified archive; `uploaded` gets the keys written, for the caller to delete on failure."""
    key = f"archives/{plan.slug}/{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.dump"
    return dump_upload_verify(ctx, plan.slug, plan.cluster, key, {"previous_status": plan.previous_status},
                              fault=fault, uploaded=uploaded)


def dump_upload_verify(ctx: AppContext, slug: str, cluster: Cluster, key: str, extra: dict[str, Any], *,
                       fault: FaultHook = no_fault, uploaded: list[str]) -> Recorded:
    """The verified copy of a tenant schema (archive, and a rollback that drops data: docs/migrations.md):
    pg_dump with row counts from its own snapshot, uploaded to S3 under `key` (server-side
    encryption) with a manifest, then downloaded again, its sha256 compared and its rows loaded into
    the template at the schema's version in a scratch schema (rolled back), counts compared.
    `uploaded` gets the keys written, for the caller to delete on failure."""
    schema = schema_name(slug)
    store = ctx.aws.archives(ctx.settings.archive_bucket)
    url = ctx.clusters.url_for(cluster.url_env)
    with workdir.work_folder(_work_parent(ctx), "archive") as folder:
        dump = dumps.dump_schema(url, schema, folder / "tenant.dump", _bin_dir(ctx))
        manifest = {
            "slug": slug, "schema": schema, "cluster": cluster.name, "created_at": datetime.now(UTC).isoformat(),
            "dump_key": key, "format": "pg_dump custom", "size_bytes": dump.size_bytes, "sha256": dump.sha256,
            "server_major": dump.server_major, "pg_dump": dump.tool, "tables": dump.counts, **extra,
        }
        uploaded += [key, _manifest_key(key)]
        store.upload_file(dump.path, key, metadata={"sha256": dump.sha256, "tenant": slug})
        store.put_json(_manifest_key(key), manifest)
        fault("uploaded")
        _verify(ctx, slug, cluster, store, key, dump=dump, folder=folder)
    return Recorded(f"s3://{store.bucket}/{key}", dump.sha256, dump.size_bytes, dump.counts)


def _verify(ctx: AppContext, slug: str, cluster: Cluster, store: ArchiveStore, key: str, *,
            dump: dumps.DumpResult, folder: Path) -> None:
    """Check what S3 holds, not the local file: download, compare with the dump we made, load its
    rows into the tenant template under a scratch name (rolled back: nothing is left behind)."""
    fetched = folder / "fetched.dump"
    store.download_file(key, fetched)
    if dumps.sha256_of(fetched) != dump.sha256:
        raise VerificationFailed(f"Archive verification failed for {slug!r}: the object in S3 does not match "
                                 "the dump's checksum. Nothing was dropped.")
    scratch = SCRATCH_PREFIX + slug
    with ctx.clusters.connect(cluster.url_env) as conn, conn.transaction(force_rollback=True):
        tenant_ddl.drop_schema(conn, scratch)  # one left by an older version that committed its scratch schema
        # The template at the schema's own version (docs/migrations.md): its tables are the ones dumped.
        conn.execute(template.create_schema(scratch, inspect_tenant(conn, slug).template_version or 1))
        try:
            loaded = dumps.load_into_template(conn, fetched, source_schema=schema_name(slug),
                                              target_schema=scratch, role=role_name(slug),
                                              tool=_tool(ctx, conn, "pg_restore"), work=folder)
        except dumps.ArchiveRejected as exc:
            raise VerificationFailed(f"Archive verification failed for {slug!r}: {exc} Nothing was dropped.") \
                from exc
    outside = sorted(set(dump.counts) - set(loaded.counts))
    if outside:
        raise VerificationFailed(f"Archive verification failed for {slug!r}: table(s) {', '.join(outside)} are "
                                 "not part of the tenant template, so a restore would not bring them back. Move "
                                 "their data elsewhere or drop them, then archive again. Nothing was dropped.")
    if loaded.counts != dump.counts:
        diff = ", ".join(f"{t}: dumped {dump.counts.get(t)} restored {loaded.counts.get(t)}"
                         for t in sorted(set(dump.counts) | set(loaded.counts))
                         if dump.counts.get(t) != loaded.counts.get(t))
        raise VerificationFailed(f"Archive verification failed for {slug!r}: row counts differ ({diff}). "
                                 "Nothing was dropped.")


def _record(ctx: AppContext, plan: ArchivePlan, recorded: Recorded) -> None:
    """The verified archive goes into the catalog: what restore will insist on."""
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, plan.slug, lock=True)
        if tenant.status != Status.ARCHIVING:
            raise Conflict(f"The archive of {plan.slug!r} was cancelled while it ran (the tenant is {tenant.status}); "
                           "its objects in S3 are left to archive_purge.")
        tenant.archive_uri, tenant.archive_sha256 = recorded.uri, recorded.sha256
        tenant.archive_size_bytes, tenant.archive_tables = recorded.size_bytes, recorded.tables
        session.commit()


def _still_in_s3(ctx: AppContext, slug: str, recorded: Recorded) -> bool:
    """Both objects are where the catalog says, the dump with the size that was verified."""
    bucket, keys = archive_keys(recorded.uri)
    store = ctx.aws.archives(bucket)
    try:
        dump, manifest = store.head(keys[0]), store.head(keys[1])
    except ExternalServiceError as exc:
        raise type(exc)(f"{exc} Tenant {slug!r} stays archiving (no access, nothing dropped): run "
                        f"`tenants archive {slug}` again when S3 answers, or `tenants archive cancel {slug}`.") from exc
    return dump is not None and manifest is not None and int(dump.get("ContentLength", -1)) == recorded.size_bytes


def _forget(ctx: AppContext, actor: Actor, plan: ArchivePlan, recorded: Recorded) -> None:
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, plan.slug, lock=True)
        if tenant.status != Status.ARCHIVING:
            raise Conflict(f"The archive of {plan.slug!r} was cancelled while it ran (the tenant is {tenant.status}).")
        _clear_archive(tenant)
        audit.record(session, actor, "tenant.archive.redo", tenant_slug=plan.slug, outcome="error",
                     before={"archive_uri": recorded.uri, "sha256": recorded.sha256},
                     detail={"error": "the verified archive objects are missing from S3; making a fresh archive "
                                      "of the schema, which still exists"})
        session.commit()


def _finish_archive(ctx: AppContext, actor: Actor, plan: ArchivePlan, recorded: Recorded, *,
                    schema_present: bool, fault: FaultHook) -> TenantView:
    slug, expected = plan.slug, recorded.tables
    now = datetime.now(UTC)
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, slug, lock=True)
        if tenant.status != Status.ARCHIVING:
            return view(tenant)  # a concurrent run finished it (or it was cancelled)
        with ctx.clusters.for_ddl(session, plan.cluster.url_env) as conn:
            if inspect_tenant(conn, slug).schema_exists:
                tenant_ddl.lock_schema_tables(conn, schema_name(slug))
                live = dumps.table_counts(conn, schema_name(slug))
                if live != expected:
                    raise Conflict(f"Tenant {slug!r} changed after its archive was made ({live} now vs {expected} "
                                   "archived); nothing was dropped. Run archive again to take a fresh dump.")
            tenant_ddl.drop_schema_and_role(conn, slug)
            fault("dropped")
        tenant.status, tenant.updated_at = Status.ARCHIVED, now
        tenant.archived_at, tenant.purge_after = now, now + timedelta(days=ctx.settings.archive_retention_days)
        hooks.on_archive(session, tenant, now)
        requests.settle_on_archive(session, actor, slug, now)
        audit.record(session, actor, "tenant.archive", tenant_slug=slug,
                     before={"status": plan.previous_status},
                     after={"status": Status.ARCHIVED.value, "archive_uri": recorded.uri,
                            "purge_after": tenant.purge_after.isoformat()},
                     detail={"tables": expected, "size_bytes": recorded.size_bytes,
                             "sha256": recorded.sha256, "resumed": not schema_present})
        session.commit()
        return view(tenant)


def _abandon(ctx: AppContext, actor: Actor, plan: ArchivePlan, exc: BaseException) -> None:
    """Put the tenant back as it was before the archive started."""
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, plan.slug, lock=True)
        if tenant.status != Status.ARCHIVING:
            return
        with ctx.clusters.for_ddl(session, plan.cluster.url_env) as conn:
            if plan.previous_status == Status.ACTIVE and inspect_tenant(conn, plan.slug).schema_exists:
                conn.execute(tenant_ddl.grant_access(plan.slug))
        tenant.status = plan.previous_status
        _clear_archive(tenant)
        tenant.updated_at = plan.previous_updated_at or datetime.now(UTC)
        audit.record(session, actor, "tenant.archive", tenant_slug=plan.slug, outcome="error",
                     before={"status": Status.ARCHIVING.value}, after={"status": plan.previous_status},
                     detail={"error": str(exc)[:1000], "rolled_back": True})
        session.commit()


def cancel_archive(ctx: AppContext, actor: Actor, slug: str) -> TenantView:
    """`archiving` → the status before the archive started, with the access it had then, while
    the schema still exists. The cancelled archive's objects in S3 are left to archive_purge."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_ARCHIVE, "tenant.archive.cancel", tenant_slug=slug)
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, slug, lock=True)
        if tenant.status in (Status.ACTIVE, Status.SUSPENDED):
            audit.record(session, actor, "tenant.archive.cancel", tenant_slug=slug, outcome="noop",
                         after={"status": tenant.status})
            session.commit()
            return view(tenant)
        if tenant.status != Status.ARCHIVING:
            raise Conflict(f"Cannot cancel an archive of tenant {slug!r}: it is {tenant.status}, not archiving"
                           + (f"; use `tenants restore {slug}`." if tenant.status == Status.ARCHIVED else "."))
        previous = _previous_status(session, slug)
        cluster = session.get(Cluster, tenant.cluster_name)
        with ctx.clusters.for_ddl(session, cluster.url_env) as conn:
            if not inspect_tenant(conn, slug).schema_exists:
                raise Conflict(f"Cannot cancel the archive of {slug!r}: its schema is already dropped. Run "
                               f"`tenants archive {slug}` to finish the archive, then `tenants restore {slug}`.")
            conn.execute(tenant_ddl.grant_access(slug) if previous == Status.ACTIVE else tenant_ddl.revoke_access(slug))
        uri = tenant.archive_uri
        tenant.status, tenant.updated_at = previous, datetime.now(UTC)
        _clear_archive(tenant)
        audit.record(session, actor, "tenant.archive.cancel", tenant_slug=slug,
                     before={"status": Status.ARCHIVING.value, "archive_uri": uri}, after={"status": previous},
                     detail={"access": "granted" if previous == Status.ACTIVE else "revoked"})
        session.commit()
        return view(tenant)


# --- restore ---------------------------------------------------------------------------------

def restore_tenant(ctx: AppContext, actor: Actor, slug: str, *, fault: FaultHook = no_fault) -> TenantView:
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_RESTORE, "tenant.restore", tenant_slug=slug)
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, slug)
        if tenant.status == Status.ACTIVE:
            audit.record(session, actor, "tenant.restore", tenant_slug=slug, outcome="noop",
                         after={"status": tenant.status})
            session.commit()
            return view(tenant)
        if tenant.status != Status.ARCHIVED:
            detail = " (its archive was deleted after the retention period)" if tenant.status == Status.PURGED else ""
            raise Conflict(f"Cannot restore tenant {slug!r}: it is {tenant.status}{detail}.")
        if not tenant.archive_uri:
            raise Conflict(f"Tenant {slug!r} is archived but no archive is recorded; nothing to restore from.")
        recorded = _recorded(tenant)
        if recorded is None:
            raise Conflict(f"Tenant {slug!r} has no archive checksum recorded in the catalog (archived before "
                           "checksums were kept), so its archive cannot be trusted; not restoring. Verify the dump "
                           "by hand and record its sha256, size and row counts in control_plane.tenants first.")
        cluster = session.get(Cluster, tenant.cluster_name)
        # Rebuilt at the version it was archived at (its rows fit that one), then brought up to the
        # fleet's version in the same transaction (docs/migrations.md "Restore").
        archived_version = revisions.DEFAULT.check(tenant.template_version or 1)
        fleet_version = max(archived_version, schema_queries.fleet_version(session))
    bucket, key = parse_uri(recorded.uri)
    store = ctx.aws.archives(bucket)
    schema = schema_name(slug)
    with workdir.work_folder(_work_parent(ctx), "restore") as folder:
        fetched = folder / "tenant.dump"
        store.download_file(key, fetched)
        actual = dumps.sha256_of(fetched)
        if actual != recorded.sha256:
            raise ArchiveTampered(f"Archive {recorded.uri} is not the one recorded when {slug!r} was archived (sha256 "
                                  f"{actual[:12]}… in S3, {recorded.sha256[:12]}… recorded): it was changed or "
                                  "replaced. Not restoring; the tenant stays archived.")
        with ctx.clusters.connect(cluster.url_env) as conn:
            found = inspect_tenant(conn, slug)
            if found.schema_exists:  # a re-run after a crash between this commit and the catalog's
                counts = dumps.table_counts(conn, schema)  # tables of later revisions start empty
                restored = {t: n for t, n in counts.items() if t in recorded.tables or n}
            else:
                if not found.role_exists:
                    conn.execute(tenant_ddl.create_role(slug))
                conn.execute(template.create_schema(schema, archived_version))
                conn.execute(tenant_ddl.grant_access(slug))
                restored = dumps.load_into_template(conn, fetched, source_schema=schema, target_schema=schema,
                                                    role=role_name(slug), tool=_tool(ctx, conn, "pg_restore"),
                                                    work=folder).counts
                for revision in revisions.DEFAULT.between(archived_version, fleet_version):
                    conn.execute(revision.forward(schema))
                conn.execute(tenant_ddl.comment_schema(schema, fleet_version))
            if restored != recorded.tables:
                conn.rollback()
                raise Conflict(f"Restored schema of {slug!r} does not match its archive ({restored} vs "
                               f"{recorded.tables}); the tenant stays archived.")
            conn.commit()
    fault("restored")
    now = datetime.now(UTC)
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, slug, lock=True)
        if tenant.status != Status.ARCHIVED:
            return view(tenant)
        with ctx.clusters.for_ddl(session, cluster.url_env) as conn:
            conn.execute(tenant_ddl.grant_access(slug))
            version = inspect_tenant(conn, slug).template_version or archived_version
        tenant.status, tenant.status_reason, tenant.updated_at = Status.ACTIVE, None, now
        tenant.template_version = version
        tenant.archived_at, tenant.purge_after = None, None
        _clear_archive(tenant)
        hooks.on_restore(session, tenant, now)
        audit.record(session, actor, "tenant.restore", tenant_slug=slug, before={"status": Status.ARCHIVED.value},
                     after={"status": Status.ACTIVE.value, "template_version": version},
                     detail={"archived_template_version": archived_version, "archive_uri": recorded.uri,
                             "sha256": recorded.sha256, "tables": recorded.tables})
        session.commit()
        return view(tenant)


# --- helpers ---------------------------------------------------------------------------------

def show_tenant(ctx: AppContext, slug: str) -> TenantView:
    with ctx.session_factory() as session:
        return view(lookups.tenant(session, slug))




def _previous_status(session: Session, slug: str) -> str:
    before = session.scalar(select(AuditEntry.before).where(AuditEntry.tenant_slug == slug,
                                                            AuditEntry.action == "tenant.archive.start")
                            .order_by(AuditEntry.id.desc()).limit(1))
    status = (before or {}).get("status")
    return status if status in (Status.ACTIVE, Status.SUSPENDED) else Status.SUSPENDED.value


def _schema_exists(ctx: AppContext, cluster: Cluster, slug: str) -> bool:
    with ctx.clusters.connect(cluster.url_env, autocommit=True) as conn:
        return inspect_tenant(conn, slug).schema_exists


def _manifest_key(dump_key: str) -> str:
    return dump_key.removesuffix(".dump") + ".manifest.json"


def _delete_quietly(store: ArchiveStore, keys: list[str]) -> None:
    try:
        store.delete(keys)
    except ControlPlaneError:
        pass  # an orphaned object is swept by the purge job after the retention period


def _bin_dir(ctx: AppContext) -> Path | None:
    server = ctx.embedded_server
    return server.bin_dir if server is not None else None


def _tool(ctx: AppContext, conn: psycopg.Connection, name: str) -> Path:
    return pgtools.find_tool(name, dumps.server_major(conn), _bin_dir(ctx))


def _work_parent(ctx: AppContext) -> Path:
    return ctx.settings.work_dir or workdir.default_parent()


def archive_keys(uri: str) -> tuple[str, list[str]]:
    """The bucket and both object keys (dump and manifest) of an archive URI."""
    bucket, key = parse_uri(uri)
    return bucket, [key, _manifest_key(key)]
