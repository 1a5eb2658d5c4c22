"""Drift: every tenant schema's fingerprint against the fingerprint of the version the catalog
records for it (docs/migrations.md "Drift"). Differences are reported, never repaired.

Per cluster: the expected fingerprint of each version present is computed once, by building
that version in a scratch schema inside a transaction that is always rolled back. One pg_catalog
query then gives a digest (and the version comment) of every tenant schema and scratch schema;
only the schemas whose digest differs from their version's are read line by line, in one more
query. The statements per cluster do not depend on the number of tenants (issue 19: 20,000).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import select

from control_plane.auth.permissions import Actor, Permission, system_actor
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.db.models import Alert, Cluster, Tenant
from control_plane.domain.slugs import schema_name
from control_plane.errors import ControlPlaneError
from control_plane.fleet import queries
from control_plane.tenant_schema import template
from control_plane.tenant_schema.revisions import DEFAULT, Catalog

SCRATCH = "cp_fingerprint_v"


def fingerprints(conn, schemas: list[str]) -> dict[str, frozenset[str]]:
    """Each schema's lines, its own name already taken out by the query (queries.FINGERPRINT)."""
    found: dict[str, set[str]] = defaultdict(set)
    for schema, line in conn.execute(queries.FINGERPRINT, (schemas,)):
        found[schema].add(line)
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
        try:
            report += _verify_cluster(ctx, envs.get(cluster), cluster, members, catalog)
        except (ControlPlaneError, psycopg.Error) as exc:  # one cluster down: the others are still checked
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            report += [{"tenant": slug, "cluster": cluster, "version": version, "fingerprint": None,
                        "status": "unreachable", "error": reason, "missing": [], "unexpected": []}
                       for slug, version in members]
    return report


_EMPTY = digest(frozenset())  # the fingerprint of a schema without tables


def _verify_cluster(ctx: AppContext, url_env: str | None, cluster: str, members: list[tuple[str, int]],
                    catalog: Catalog) -> list[dict[str, Any]]:
    versions = sorted({v for _, v in members if 1 <= v <= catalog.latest})
    scratch = [f"{SCRATCH}{v}" for v in versions]
    with ctx.clusters.connect(url_env) as conn, conn.transaction(force_rollback=True):
        for v in versions:
            conn.execute(template.create_schema(f"{SCRATCH}{v}", v, catalog))
        conn.execute(queries.DIGEST_SETTINGS)
        schemas = [schema_name(s) for s, _ in members] + scratch
        # schema -> (structure digest, comment); "" for a schema without tables, no row for one that is gone
        found = {row[0]: (row[1], row[2])
                 for row in conn.execute(queries.digest_query(conn.info.server_version), (schemas,))}
        expected = {v: found.get(f"{SCRATCH}{v}", ("", None)) for v in versions}
        differ = [schema_name(s) for s, v in members if found.get(schema_name(s), ("", None))[0]
                  and (v not in expected or found[schema_name(s)][0] != expected[v][0])]
        # the lines of each version (their fingerprint is that of every schema with the same digest)
        # and of the schemas that differ: a few schemas, whatever the fleet's size
        lines = fingerprints(conn, differ + scratch)
    # a version's fingerprint once, not once per schema at it (20,000 sorts and hashes of ~100 lines)
    want_digest = {v: digest(lines[f"{SCRATCH}{v}"]) for v in versions}
    report = []
    for slug, version in members:
        schema = schema_name(slug)
        structure, comment = found.get(schema, ("", None))
        row: dict[str, Any] = {"tenant": slug, "cluster": cluster, "version": version}
        if not structure:
            row.update(fingerprint=_EMPTY, status="missing", missing=[], unexpected=[])
        elif version not in expected:
            row.update(fingerprint=digest(lines[schema]), status="unknown_version", missing=[], unexpected=[])
        else:
            missing, unexpected, fingerprint = [], [], want_digest[version]
            if schema in lines:  # read: its digest is not its version's
                want, actual = lines[f"{SCRATCH}{version}"], lines[schema]
                missing, unexpected, fingerprint = sorted(want - actual), sorted(actual - want), digest(actual)
            want_comment = expected[version][1]
            if comment != want_comment:  # the version a schema says it is at (fleet/reconcile.py trusts it)
                missing.append(f"comment {want_comment}")
                unexpected.append(f"comment {comment}")
            row.update(fingerprint=fingerprint, status="drift" if missing or unexpected else "ok",
                       missing=missing, unexpected=unexpected, expected_fingerprint=want_digest[version])
        report.append(row)
    return report


def report(ctx: AppContext, now: datetime) -> str:
    """For the reconcile job: verify every schema and raise one alert when the differences change
    (the app shows alerts; nothing is repaired)."""
    rows = verify(ctx, system_actor("reconcile"))
    differ = [r for r in rows if r["status"] != "ok"]
    if not differ:
        return f"{len(rows)} tenant schema(s) match their template version"
    summary = f"{len(differ)} of {len(rows)} tenant schema(s) differ from their template version"
    lines = [f"{r['tenant']} ({r['cluster']}, v{r['version']}): {r['status']}; missing {len(r['missing'])}, "
             f"unexpected {len(r['unexpected'])}" for r in differ[:200]]
    message = summary + " (`tenants verify-schemas` lists the differences)\n" + "\n".join(lines)
    with ctx.session_factory() as session:
        last = session.scalar(select(Alert.message).where(Alert.kind == "schema_drift").order_by(Alert.id.desc())
                              .limit(1))
        if last != message:
            session.add(Alert(at=now, kind="schema_drift", severity="warning", target="tenant schemas",
                              message=message))
            session.commit()
    return summary
