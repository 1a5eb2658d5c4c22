"""Catalog vs clusters: which tenant schemas and roles exist, and whether their access matches
the tenant's status. Drift is reported, never repaired or dropped automatically."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from sqlalchemy import select

from control_plane.context import AppContext
from control_plane.db.models import Alert, Cluster, Tenant
from control_plane.domain.slugs import TENANT_PREFIX, schema_name
from control_plane.errors import ControlPlaneError
from control_plane.moves import ledger as moves_ledger

STUCK_AFTER = timedelta(hours=1)
SCRATCH_PREFIX = "cp_verify_"
EXPECTS_OBJECTS = ("provisioning", "active", "suspended", "archiving")

# Per tenant schema: whether its role exists and can read its `users` table. The table is found
# by the (name, schema) index and the privilege asked by oid: no name built and parsed per schema.
_SCHEMAS_SQL = """
SELECT n.nspname,
       r.oid IS NOT NULL,
       CASE WHEN r.oid IS NOT NULL AND u.oid IS NOT NULL
            THEN pg_catalog.has_table_privilege(r.oid, u.oid, CAST('SELECT' AS pg_catalog.text)) END
  FROM pg_catalog.pg_namespace n
  LEFT JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) n.nspname
  LEFT JOIN pg_catalog.pg_class u ON u.relnamespace OPERATOR(pg_catalog.=) n.oid
                                 AND u.relname OPERATOR(pg_catalog.=) CAST('users' AS pg_catalog.name)
 WHERE n.nspname OPERATOR(pg_catalog.~~) CAST('tenant\\_%%' AS pg_catalog.text)
    OR n.nspname OPERATOR(pg_catalog.~~) CAST('cp\\_verify\\_%%' AS pg_catalog.text)
"""
_ROLES_SQL = ("SELECT r.rolname FROM pg_catalog.pg_roles r "
              "WHERE r.rolname OPERATOR(pg_catalog.~~) CAST('tenant\\_%%' AS pg_catalog.text)")


@dataclass(frozen=True)
class Drift:
    cluster: str
    kind: str  # missing_schema | missing_role | orphan_schema | orphan_role | access | stuck | scratch | unreachable
    slug: str | None
    detail: str

    def line(self) -> str:
        return f"[{self.cluster}] {self.kind} {self.slug or ''}: {self.detail}".replace("  ", " ")


def find_drift(ctx: AppContext, now: datetime) -> list[Drift]:
    with ctx.session_factory() as session:
        clusters = session.scalars(select(Cluster).order_by(Cluster.created_at, Cluster.name)).all()
        tenants = session.execute(select(Tenant.slug, Tenant.status, Tenant.cluster_name, Tenant.updated_at)).all()
        moving = moves_ledger.moving_slugs(session)
        stalled_moves = moves_ledger.stalled(session, now - STUCK_AFTER)
    # Several catalog rows may point at one database (same URL): judge that database once.
    groups: dict[str, list[Cluster]] = {}
    drift: list[Drift] = []
    for cluster in clusters:
        try:
            url = ctx.clusters.url_for(cluster.url_env)
        except Exception as exc:  # reported as drift; the other clusters are still checked
            drift.append(Drift(cluster.name, "unreachable", None, str(exc)))
            continue
        groups.setdefault(url, []).append(cluster)
    by_slug = {t.slug: t for t in tenants}
    for members in groups.values():
        names = {c.name for c in members}
        label = "/".join(sorted(names))
        try:
            with ctx.clusters.connect(members[0].url_env, autocommit=True) as conn:
                schemas = {row[0]: (row[1], row[2]) for row in conn.execute(_SCHEMAS_SQL)}
                roles = {row[0] for row in conn.execute(_ROLES_SQL)}
        except ControlPlaneError as exc:  # connection problems, already without the URL in them
            drift.append(Drift(label, "unreachable", None, str(exc)))
            continue
        except psycopg.Error as exc:
            drift.append(Drift(label, "unreachable", None, str(exc).strip().splitlines()[0]))
            continue
        # A running move has the tenant's schema on two clusters and its access revoked during the
        # cut-over, on purpose (docs/moves.md): its own record says where it is, not drift.
        drift += [d for d in _compare(label, names, schemas, roles, by_slug)
                  if not (d.slug in moving and d.kind in ("orphan_schema", "access"))]
    for move in stalled_moves:  # its slot keeps WAL on the source for as long as it stays there
        drift.append(Drift(move.source_cluster, "stuck", move.tenant_slug,
                           f"move #{move.id} to {move.target_cluster} has not progressed since "
                           f"{move.updated_at:%Y-%m-%d %H:%M} UTC (last step {move.step}); run "
                           f"`tenants move {move.tenant_slug} --to {move.target_cluster}` to finish it or "
                           f"`tenants move cancel {move.tenant_slug}`"))
    for t in tenants:
        if t.status in ("provisioning", "archiving") and now - t.updated_at > STUCK_AFTER:
            drift.append(Drift(t.cluster_name, "stuck", t.slug,
                               f"{t.status} since {t.updated_at:%Y-%m-%d %H:%M} UTC; run the command again to finish"))
    return drift


def _compare(label, names, schemas, roles, by_slug) -> list[Drift]:
    drift: list[Drift] = []
    for schema, (_has_role, can_read) in sorted(schemas.items()):
        if schema.startswith(SCRATCH_PREFIX):
            drift.append(Drift(label, "scratch", schema[len(SCRATCH_PREFIX):],
                               f"verification schema {schema} left behind by an interrupted archive"))
            continue
        slug = schema[len(TENANT_PREFIX):]
        tenant = by_slug.get(slug)
        if tenant is None or tenant.cluster_name not in names or tenant.status not in EXPECTS_OBJECTS:
            why = ("no such tenant in the catalog" if tenant is None else
                   f"the catalog places it on {tenant.cluster_name}" if tenant.cluster_name not in names else
                   f"the tenant is {tenant.status}")
            drift.append(Drift(label, "orphan_schema", slug, f"schema {schema} exists but {why}"))
            continue
        if tenant.status == "active" and can_read is False:
            drift.append(Drift(label, "access", slug, "tenant is active but its role cannot read its tables"))
        if tenant.status == "suspended" and can_read:
            drift.append(Drift(label, "access", slug, "tenant is suspended but its role can still read its tables"))
    for slug, tenant in sorted(by_slug.items()):
        if tenant.cluster_name not in names or tenant.status not in ("active", "suspended"):
            continue
        if schema_name(slug) not in schemas:
            drift.append(Drift(label, "missing_schema", slug, f"tenant is {tenant.status} but has no schema"))
        if schema_name(slug) not in roles:
            drift.append(Drift(label, "missing_role", slug, f"tenant is {tenant.status} but has no role"))
    for role in sorted(roles - set(schemas)):
        slug = role[len(TENANT_PREFIX):]
        tenant = by_slug.get(slug)
        if tenant is None or tenant.status not in EXPECTS_OBJECTS:
            drift.append(Drift(label, "orphan_role", slug, f"role {role} exists without a live tenant or schema"))
    return drift


def report_drift(ctx: AppContext, now: datetime) -> tuple[list[Drift], bool]:
    """Find drift and raise one alert when it differs from the last one reported. Returns the drift
    and whether an alert was written."""
    drift = find_drift(ctx, now)
    if not drift:
        return drift, False
    message = alert_text(drift)
    with ctx.session_factory() as session:
        last = session.scalar(select(Alert.message).where(Alert.kind == "drift").order_by(Alert.id.desc()).limit(1))
        if last == message:
            return drift, False
        session.add(Alert(at=now, kind="drift", severity="warning", target="clusters", message=message))
        session.commit()
    return drift, True


# What someone must act on first leads the alert; orphans (reported, harmless until dropped) follow.
_URGENCY = ("access", "unreachable", "missing_schema", "missing_role", "stuck", "scratch", "orphan_role",
            "orphan_schema")
ALERT_LINES = 200


def alert_text(drift: list[Drift]) -> str:
    """The summary, then at most ALERT_LINES items, the most urgent kinds first; the rest counted."""
    ordered = sorted(drift, key=lambda d: (_URGENCY.index(d.kind) if d.kind in _URGENCY else len(_URGENCY),
                                           d.cluster, d.slug or ""))
    lines = [d.line() for d in ordered[:ALERT_LINES]]
    if len(ordered) > ALERT_LINES:
        lines.append(f"... and {len(ordered) - ALERT_LINES} more (the whole list: `control-plane clusters drift`)")
    return summarise(drift) + "\n" + "\n".join(lines)


def summarise(drift: list[Drift]) -> str:
    if not drift:
        return "no drift: every catalog tenant matches its cluster"
    counts = Counter(d.kind for d in drift)
    return f"{len(drift)} drift items: " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
