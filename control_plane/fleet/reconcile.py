"""The ledger is never the only truth (docs/migrations.md "Reconciliation").

A driver records results in batches (fleet/run.py), so one killed with kill -9 leaves `pending`
rows for tenants it had already migrated; on a cluster other than the catalog database the cluster
commits before the catalog follows, so a process that died in between leaves the catalog behind
the schema. Before a rollback or a resume acts, every tenant of the run is read as it really is:
the catalog's row (one query for the whole run) and, per cluster, the schema's version comment and
whether another session holds the tenant's migration lock (one query per cluster, whatever the
number of tenants). Then the records are corrected: the catalog follows what a remote schema says
(with the audit entries of the revisions it never recorded), and each ledger row says where its
tenant is.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import psycopg
from sqlalchemy import text

from control_plane.adapters import tenant_ddl
from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.db import advisory_locks
from control_plane.domain.slugs import schema_name
from control_plane.errors import ControlPlaneError
from control_plane.fleet import queries
from control_plane.fleet.states import ResultStatus
from control_plane.tenant_schema.revisions import DEFAULT, Catalog


@dataclass
class TenantState:
    """One tenant of a run: what the ledger says, what the catalog says, what its schema says."""

    slug: str
    cluster: str
    url_env: str | None
    wave: int  # 0: skipped at planning
    from_version: int | None
    ledger_status: str
    ledger_to: int | None
    tenant_status: str | None  # None: no catalog row any more
    catalog_version: int | None
    schema_version: int | None = None  # the version comment; None: no schema, or no readable comment
    busy: bool = False  # another session holds its migration lock right now
    unreachable: str | None = None  # its cluster could not be read: why

    @property
    def version(self) -> int | None:
        """Where the tenant really is: its schema's comment (the cluster's truth; on the catalog
        database it always commits with the catalog's version). None when that cannot be told."""
        return None if self.unreachable is not None else self.schema_version

    @property
    def known(self) -> bool:
        return self.version is not None and not self.busy

    def describe(self) -> str:
        if self.unreachable is not None:
            return f"{self.slug}: its cluster {self.cluster} cannot be read ({self.unreachable})"
        if self.busy:
            return f"{self.slug}: another session holds its migration lock (a driver still at work on it)"
        if self.version is None:
            return f"{self.slug}: its schema has no readable version comment (status {self.tenant_status})"
        return f"{self.slug}: at v{self.version}, started the run at v{self.from_version}"


def read(ctx: AppContext, run_id: int) -> list[TenantState]:
    """Every tenant of the run as it really is: one catalog query, then one query per cluster."""
    with ctx.session_factory() as session:
        rows = session.execute(text(queries.RUN_TENANTS), {"run": run_id}).all()
    states = [TenantState(r.tenant_slug, r.cluster_name, r.url_env, r.wave, r.from_version, r.status, r.to_version,
                          r.tenant_status, r.template_version) for r in rows]
    by_cluster: dict[str, list[TenantState]] = defaultdict(list)
    for state in states:
        by_cluster[state.cluster].append(state)
    for members in by_cluster.values():
        try:
            with ctx.clusters.connect(members[0].url_env, autocommit=True) as conn:
                found = {schema: (comment, busy) for schema, comment, busy in conn.execute(
                    queries.CLUSTER_STATES, ([schema_name(s.slug) for s in members],
                                             [advisory_locks.fleet_tenant_name(s.slug) for s in members]))}
        except (ControlPlaneError, psycopg.Error) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            for state in members:
                state.unreachable = reason[:200]
            continue
        for state in members:
            comment, busy = found.get(schema_name(state.slug), (None, False))
            state.schema_version, state.busy = tenant_ddl.comment_version(comment), bool(busy)
    return states


def reconcile(ctx: AppContext, actor: Actor, run_id: int, *, target: int,
              catalog: Catalog = DEFAULT) -> list[TenantState]:
    """read(), then correct the records: the catalog's version of a tenant whose remote schema is
    elsewhere (the audit entries of the revisions it never recorded, marked `recorded_late`), and
    each ledger row's to_version; a pending row whose tenant is already at the run's target is
    `applied`. Tenants another session is working on are left alone. One transaction."""
    states = read(ctx, run_id)
    versions, rows, late = [], [], []
    for s in states:
        if not s.known or s.wave == 0:
            continue
        remote = not ctx.clusters.shares_catalog(s.url_env)
        if remote and s.catalog_version is not None and s.catalog_version != s.version \
                and s.tenant_status in queries.MIGRATABLE:
            versions.append({"slug": s.slug, "version": s.version})
            late += _late_entries(actor, s, run_id, catalog)
            s.catalog_version = s.version
        status = s.ledger_status
        if status == ResultStatus.PENDING:
            if s.version == s.from_version:
                continue  # untouched: nothing to correct
            if s.version == target:
                status = ResultStatus.APPLIED  # migrated by a driver that died before recording it
        if (status, s.version) != (s.ledger_status, s.ledger_to):
            rows.append({"slug": s.slug, "status": status, "to_version": s.version})
            s.ledger_status, s.ledger_to = status, s.version
    if versions or rows:
        with ctx.session_factory() as session:
            if versions:
                session.execute(text(queries.RECONCILE_VERSIONS), {"rows": json.dumps(versions)})
            if rows:
                session.execute(text(queries.RECONCILE_RESULTS), {"rows": json.dumps(rows), "run": run_id})
            for entry in late:
                audit.record(session, actor, entry.pop("action"), **entry)
            audit.record(session, actor, "fleet.run.reconcile", target=f"migration run {run_id}",
                         detail={"ledger_rows_corrected": len(rows), "catalog_versions_corrected": len(versions),
                                 "tenants": [r["slug"] for r in rows][:100]})
            session.commit()
    return states


def _late_entries(actor: Actor, state: TenantState, run_id: int, catalog: Catalog) -> list[dict]:
    """The audit entries of revisions a remote cluster committed that the catalog never recorded."""
    start, end = state.catalog_version, state.version
    assert start is not None and end is not None
    if not (1 <= start <= catalog.latest and 1 <= end <= catalog.latest):
        return []
    forward = end > start
    entries = []
    for v in (range(start, end) if forward else range(start, end, -1)):
        revision = catalog.get(v + 1 if forward else v)
        after = v + 1 if forward else v - 1
        entry = audit.entry(actor, "tenant.migrate" if forward else "tenant.migrate.reverse",
                            tenant_slug=state.slug, target=state.cluster,
                            before={"template_version": v}, after={"template_version": after},
                            detail={"run": run_id, "revision": revision.version, "name": revision.name,
                                    "kind": revision.kind.value, "recorded_late": True})
        entry.pop("actor")
        entry.pop("actor_role")
        entries.append(entry)
    return entries
