"""The end of a move's retention (docs/moves.md "Retention and purge"): the source schema kept
under `moved_<id>_<slug>` is dropped once `retain_until` has passed, by the archive purge job."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from control_plane.adapters import tenant_ddl
from control_plane.auth.permissions import system_actor
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.db.models import Cluster, Tenant, TenantMove
from control_plane.errors import ControlPlaneError
from control_plane.moves.states import MoveStatus

ACTOR = system_actor("job:archive_purge")


@dataclass
class RetentionResult:
    dropped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{len(self.dropped)} moved-away schemas dropped"
        return text + (f" ({'; '.join(self.problems[:5])})" if self.problems else "")


def purge_moved_schemas(ctx: AppContext, now: datetime) -> RetentionResult:
    result = RetentionResult()
    with ctx.session_factory() as session:
        due = session.execute(
            select(TenantMove.id, TenantMove.tenant_slug, TenantMove.source_cluster, TenantMove.retained_schema,
                   Cluster.name, Cluster.url_env, Tenant.cluster_name)
            .join(Cluster, Cluster.name == TenantMove.source_cluster, isouter=True)
            .join(Tenant, Tenant.slug == TenantMove.tenant_slug, isouter=True)
            .where(TenantMove.status == MoveStatus.COMPLETED, TenantMove.retained_schema.is_not(None),
                   TenantMove.purged_at.is_(None), TenantMove.retain_until <= now)
            .order_by(TenantMove.id)).all()
    for move_id, slug, source, retained, registered, url_env, current in due:
        if registered is None:  # never guess where a schema is: the catalog database is not that cluster
            result.problems.append(f"move #{move_id}: source cluster {source} is no longer registered")
            continue
        try:
            with ctx.clusters.connect(url_env) as conn:
                with conn.transaction():
                    tenant_ddl.drop_schema(conn, retained)
                role_dropped = current != source and tenant_ddl.drop_role_if_unused(conn, slug)
        except ControlPlaneError as exc:
            result.problems.append(f"move #{move_id} on {source}: {exc}")
            continue
        with ctx.session_factory() as session:
            row = session.get(TenantMove, move_id, with_for_update=True)
            if row is None or row.purged_at is not None:
                continue
            row.purged_at, row.updated_at = now, now
            audit.record(session, ACTOR, "tenant.move.purge", tenant_slug=slug, target=f"move:{move_id}",
                         before={"retained_schema": retained, "cluster": source},
                         detail={"role_dropped": role_dropped},
                         reason=f"move retention of {ctx.settings.archive_retention_days} days ended")
            session.commit()
        result.dropped.append(retained)
    return result
