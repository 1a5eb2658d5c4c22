"""Archive retention: archived tenants past `purge_after` lose their archive (status `purged`),
and archive objects no archived tenant refers to (old archives of restored tenants, leftovers of
interrupted runs) are deleted once older than the retention period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from control_plane.archive.service import archive_keys
from control_plane.auth.permissions import system_actor
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.db.models import Tenant
from control_plane.domain.lifecycle import Status

PREFIX = "archives/"
ACTOR = system_actor("job:archive_purge")


@dataclass
class PurgeResult:
    purged: list[str] = field(default_factory=list)
    orphans_deleted: int = 0

    def summary(self) -> str:
        return (f"{len(self.purged)} tenants purged" + (f" ({', '.join(self.purged[:20])})" if self.purged else "")
                + f", {self.orphans_deleted} unreferenced archive objects deleted")


def purge_archives(ctx: AppContext, now: datetime) -> PurgeResult:
    result = PurgeResult()
    store = ctx.aws.archives(ctx.settings.archive_bucket)
    with ctx.session_factory() as session:
        due = session.scalars(select(Tenant).where(Tenant.status == Status.ARCHIVED, Tenant.purge_after <= now)
                              .order_by(Tenant.slug)).all()
    for tenant in due:
        if tenant.archive_uri:
            bucket, keys = archive_keys(tenant.archive_uri)
            ctx.aws.archives(bucket).delete(keys)  # S3 first: a re-run deletes nothing twice
        with ctx.session_factory() as session:
            row = session.scalar(select(Tenant).where(Tenant.slug == tenant.slug).with_for_update())
            if row is None or row.status != Status.ARCHIVED:
                continue
            uri = row.archive_uri
            row.status, row.archive_uri, row.updated_at = Status.PURGED, None, now
            audit.record(session, ACTOR, "tenant.purge", tenant_slug=row.slug,
                         before={"status": Status.ARCHIVED.value, "archive_uri": uri},
                         after={"status": Status.PURGED.value},
                         reason=f"archive retention of {ctx.settings.archive_retention_days} days ended")
            session.commit()
        result.purged.append(tenant.slug)

    with ctx.session_factory() as session:
        uris = session.scalars(select(Tenant.archive_uri).where(
            Tenant.status.in_((Status.ARCHIVED, Status.ARCHIVING)), Tenant.archive_uri.is_not(None))).all()
    referenced = set()
    for uri in uris:
        bucket, keys = archive_keys(uri)
        if bucket == store.bucket:
            referenced.update(keys)
    cutoff = now - timedelta(days=ctx.settings.archive_retention_days)
    stale = [o.key for o in store.list(PREFIX) if o.key not in referenced and o.last_modified < cutoff]
    store.delete(stale)
    result.orphans_deleted = len(stale)
    return result

