"""A rollback whose reverse steps drop data (docs/migrations.md "Rollback that drops data").

Reverse steps name what they drop (Revision.reverse_drops: tables, and columns as table.column).
Before a rollback acts, the rows each tenant would lose are counted on its cluster (tables: every
row; columns: every non-null value), in a few statements per cluster. When any would go, the
rollback is admin-only and needs --allow-data-loss; each such tenant's schema is first copied to
S3 through the archive's verified path (control_plane/archive/service.dump_upload_verify: pg_dump,
upload, download, sha256, rows loaded into the template in a scratch schema and counted) and the
copy recorded in the catalog (migration_dumps) with its checksum.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import sql
from sqlalchemy import select

from control_plane.archive import service as archive
from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.db.models import Cluster, MigrationDump
from control_plane.domain.slugs import schema_name
from control_plane.errors import ControlPlaneError
from control_plane.tenant_schema.revisions import Catalog

BATCH = 400  # counts per statement

# Which of the objects a reverse would drop exist in these schemas: one query per cluster.
_EXISTING = """
SELECT n.nspname, c.relname, a.attname
  FROM pg_catalog.pg_namespace n
  JOIN pg_catalog.pg_class c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid
       AND c.relkind OPERATOR(pg_catalog.=) ANY (CAST('{r,p}' AS pg_catalog."char"[]))
  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
       AND a.attnum OPERATOR(pg_catalog.>) CAST(0 AS pg_catalog.int2) AND NOT a.attisdropped
       AND a.attname OPERATOR(pg_catalog.=) ANY (CAST(%s AS pg_catalog.name[]))
 WHERE n.nspname OPERATOR(pg_catalog.=) ANY (CAST(%s AS pg_catalog.name[]))
   AND c.relname OPERATOR(pg_catalog.=) ANY (CAST(%s AS pg_catalog.name[]))
"""


@dataclass
class Loss:
    """One tenant a rollback would take from `current` down to `goal`, and the rows that would go."""

    slug: str
    cluster: str
    url_env: str | None
    current: int
    goal: int
    rows: dict[str, int] = field(default_factory=dict)  # object -> rows (or non-null values) dropped

    @property
    def total(self) -> int:
        return sum(self.rows.values())


@dataclass(frozen=True)
class Preview:
    """What a rollback would drop, for the refusal's message and the page's confirmation."""

    tenants: int  # tenants to put back
    losses: list[Loss]

    @property
    def rows(self) -> int:
        return sum(loss.total for loss in self.losses)

    @property
    def with_data(self) -> list[Loss]:
        return [loss for loss in self.losses if loss.total]

    def by_object(self) -> dict[str, int]:
        found: dict[str, int] = defaultdict(int)
        for loss in self.losses:
            for name, n in loss.rows.items():
                found[name] += n
        return {k: v for k, v in sorted(found.items()) if v}

    def summary(self) -> str:
        objects = ", ".join(f"{name} {n}" for name, n in self.by_object().items())
        names = ", ".join(loss.slug for loss in self.with_data[:10])
        more = f" and {len(self.with_data) - 10} more" if len(self.with_data) > 10 else ""
        return f"{self.rows} row(s) in {len(self.with_data)} tenant(s) ({objects}; {names}{more})"

    def as_dict(self) -> dict[str, Any]:
        return {"tenants": self.tenants, "rows": self.rows, "tenants_with_data": len(self.with_data),
                "by_object": self.by_object(),
                "by_tenant": {loss.slug: loss.rows for loss in self.with_data}}


def measure(ctx: AppContext, losses: list[Loss], catalog: Catalog) -> None:
    """Fill each loss's rows: what its reverse steps would drop, counted on its cluster."""
    by_cluster: dict[str | None, list[Loss]] = defaultdict(list)
    for loss in losses:
        loss.rows = {name: 0 for name in catalog.dropped_by_reverse(loss.current, loss.goal)}
        if loss.rows:
            by_cluster[loss.url_env].append(loss)
    for url_env, members in by_cluster.items():
        names = {name for loss in members for name in loss.rows}
        tables = sorted({n.split(".")[0] for n in names})
        columns = sorted({n.split(".", 1)[1] for n in names if "." in n})
        with ctx.clusters.connect(url_env, autocommit=True) as conn:
            present: set[tuple[str, str]] = set()
            for schema, table, column in conn.execute(_EXISTING, (columns, [schema_name(m.slug) for m in members],
                                                                  tables)):
                present.add((schema, table))
                if column is not None:
                    present.add((schema, f"{table}.{column}"))
            parts = [_count(loss.slug, name) for loss in members for name in loss.rows
                     if (schema_name(loss.slug), name) in present]
            found = {loss.slug: loss for loss in members}
            for start in range(0, len(parts), BATCH):
                for slug, name, n in conn.execute(sql.SQL(" UNION ALL ").join(parts[start:start + BATCH])):
                    found[slug].rows[name] = int(n)


def _count(slug: str, name: str) -> sql.Composed:
    table, _, column = name.partition(".")
    what = sql.SQL("pg_catalog.count({})").format(sql.Identifier(column)) if column else sql.SQL("pg_catalog.count(*)")
    return sql.SQL("SELECT CAST({slug} AS pg_catalog.text), CAST({name} AS pg_catalog.text), {what} FROM {t}").format(
        slug=sql.Literal(slug), name=sql.Literal(name), what=what, t=sql.Identifier(schema_name(slug), table))


def keep_copies(ctx: AppContext, actor: Actor, run_id: int, losses: list[Loss]) -> list[MigrationDump]:
    """A verified copy in S3 of every tenant that would lose rows, recorded in the catalog with its
    checksum (and audited) before anything is dropped. A copy that cannot be made or verified
    raises: nothing is dropped then (objects already uploaded for it are deleted)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept: list[MigrationDump] = []
    with ctx.session_factory() as session:
        clusters = {c.name: c for c in session.scalars(select(Cluster))}
    for loss in losses:
        if not loss.total:
            continue
        key = f"rollbacks/run-{run_id}/{loss.slug}/{stamp}.dump"
        uploaded: list[str] = []
        try:
            recorded = archive.dump_upload_verify(
                ctx, loss.slug, clusters[loss.cluster], key,
                {"purpose": "migration rollback", "run": run_id, "from_version": loss.current,
                 "to_version": loss.goal, "dropped": loss.rows}, uploaded=uploaded)
        except Exception:
            if uploaded:
                with contextlib.suppress(ControlPlaneError):  # an orphan costs storage, never data
                    ctx.aws.archives(ctx.settings.archive_bucket).delete(uploaded)
            raise
        with ctx.session_factory() as session:
            dump = MigrationDump(run_id=run_id, tenant_slug=loss.slug, cluster_name=loss.cluster,
                                 from_version=loss.current, to_version=loss.goal, uri=recorded.uri,
                                 sha256=recorded.sha256, size_bytes=recorded.size_bytes, tables=recorded.tables,
                                 dropped=loss.rows, created_by=actor.name)
            session.add(dump)
            audit.record(session, actor, "fleet.run.rollback.copy", tenant_slug=loss.slug,
                         target=f"migration run {run_id}",
                         detail={"uri": recorded.uri, "sha256": recorded.sha256, "size_bytes": recorded.size_bytes,
                                 "tables": recorded.tables, "dropped": loss.rows})
            session.commit()
            kept.append(dump)
    return kept
