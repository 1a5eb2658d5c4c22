"""Per-cluster load from the catalog: tenants by status, the latest usage roll-up of each live
tenant summed per cluster, open noisy-neighbour flags and running moves. One query, whatever the
number of tenants (each tenant's latest usage row is found through the usage_daily primary key)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, text

COLUMNS = ("cluster", "accepts_tenants", "aurora_cluster_id", "acu_floor", "acu_ceiling", "capacity_weight",
           "tenants", "active", "suspended", "other_live", "storage_bytes", "rows", "requests_7d",
           "noisy_tenants", "moves_in", "moves_out")

_LOAD = text("""
WITH live AS (
    SELECT t.slug, t.cluster_name, t.status
      FROM control_plane.tenants t
     WHERE t.status IN :live
),
latest AS (
    SELECT l.cluster_name, u.storage_bytes, u.row_estimate
      FROM live l
      JOIN LATERAL (SELECT storage_bytes, row_estimate FROM control_plane.usage_daily d
                     WHERE d.tenant_slug = l.slug AND d.day <= :today
                     ORDER BY d.day DESC LIMIT 1) u ON true
),
recent AS (
    SELECT l.cluster_name, sum(d.requests) AS requests
      FROM live l JOIN control_plane.usage_daily d ON d.tenant_slug = l.slug
     WHERE d.day > :today - 7 AND d.day <= :today
     GROUP BY l.cluster_name
),
noisy AS (
    SELECT t.cluster_name, array_agg(DISTINCT f.tenant_slug ORDER BY f.tenant_slug) AS slugs
      FROM control_plane.noisy_neighbour_flags f
      JOIN control_plane.tenants t ON t.slug = f.tenant_slug
     WHERE f.cleared_at IS NULL
     GROUP BY t.cluster_name
)
SELECT c.name, c.accepts_tenants, c.aurora_cluster_id, c.acu_floor::float8, c.acu_ceiling::float8,
       c.capacity_weight::float8,
       (SELECT count(*) FROM live l WHERE l.cluster_name = c.name),
       (SELECT count(*) FROM live l WHERE l.cluster_name = c.name AND l.status = 'active'),
       (SELECT count(*) FROM live l WHERE l.cluster_name = c.name AND l.status = 'suspended'),
       (SELECT count(*) FROM live l WHERE l.cluster_name = c.name AND l.status NOT IN ('active', 'suspended')),
       COALESCE((SELECT sum(storage_bytes) FROM latest WHERE latest.cluster_name = c.name), 0)::bigint,
       COALESCE((SELECT sum(row_estimate) FROM latest WHERE latest.cluster_name = c.name), 0)::bigint,
       COALESCE((SELECT requests FROM recent WHERE recent.cluster_name = c.name), 0)::bigint,
       COALESCE((SELECT slugs FROM noisy WHERE noisy.cluster_name = c.name), '{}'),
       (SELECT count(*) FROM control_plane.tenant_moves m WHERE m.status = 'running' AND m.target_cluster = c.name),
       (SELECT count(*) FROM control_plane.tenant_moves m WHERE m.status = 'running' AND m.source_cluster = c.name)
  FROM control_plane.clusters c
 ORDER BY c.created_at, c.name
""").bindparams(bindparam("live", expanding=True))


def fetch_cluster_load(conn: Connection, live: tuple[str, ...], today: date) -> list[dict[str, Any]]:
    rows = conn.execute(_LOAD, {"live": live, "today": today}).all()
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]
