"""Drift: every tenant schema's fingerprint against the fingerprint of the version the catalog
records for it (docs/migrations.md "Drift"). Differences are reported, never repaired.

Per cluster: the expected fingerprint of each version present is computed once, by building
that version in a scratch schema inside a transaction that is always rolled back; the tenant
schemas and the scratch ones are read in one pg_catalog query.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.db.models import Cluster, Tenant
from control_plane.domain.slugs import schema_name
from control_plane.fleet import queries, template
from control_plane.fleet.revisions import DEFAULT, Catalog
from control_plane.services.authorization import authorize

SCRATCH = "cp_fingerprint_v"


def _normalise(schema: str, line: str) -> str:
    """Schema names out, so two schemas of one version read the same."""
    return line.replace(f'"{schema}".', "").replace(f"{schema}.", "")


def fingerprints(conn, schemas: list[str]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for schema, line in conn.execute(queries.FINGERPRINT, (schemas,)):
        found[schema].add(_normalise(schema, line))
    return {s: frozenset(found.get(s, ())) for s in schemas}


def digest(lines: frozenset[str]) -> str:
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:16]


def verify(ctx: AppContext, actor: Actor, *, catalog: Catalog = DEFAULT) -> list[dict[str, Any]]:
    authorize(ctx, actor, Permission.MIGRATIONS_READ, "fleet.verify_schemas")
    with ctx.session_factory() as session:
        tenants = session.execute(select(Tenant.slug, Tenant.cluster_name, Tenant.template_version)
                                  .where(Tenant.status.in_(queries.MIGRATABLE)).order_by(Tenant.slug)).all()
        envs = dict(session.execute(select(Cluster.name, Cluster.url_env)).all())
    by_cluster: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for slug, cluster, version in tenants:
        by_cluster[cluster].append((slug, version or 1))
    report = []
    for cluster, members in sorted(by_cluster.items()):
        versions = sorted({v for _, v in members if 1 <= v <= catalog.latest})
        with ctx.clusters.connect(envs.get(cluster)) as conn, conn.transaction(force_rollback=True):
            for v in versions:
                conn.execute(template.create_schema(f"{SCRATCH}{v}", v, catalog))
            schemas = [schema_name(s) for s, _ in members] + [f"{SCRATCH}{v}" for v in versions]
            prints = fingerprints(conn, schemas)
        for slug, version in members:
            actual = prints[schema_name(slug)]
            expected = prints.get(f"{SCRATCH}{version}")
            row: dict[str, Any] = {"tenant": slug, "cluster": cluster, "version": version,
                                   "fingerprint": digest(actual)}
            if not actual:
                row.update(status="missing", missing=[], unexpected=[])
            elif expected is None:
                row.update(status="unknown_version", missing=[], unexpected=[])
            else:
                missing, unexpected = sorted(expected - actual), sorted(actual - expected)
                row.update(status="drift" if missing or unexpected else "ok", missing=missing, unexpected=unexpected,
                           expected_fingerprint=digest(expected))
            report.append(row)
    return report
