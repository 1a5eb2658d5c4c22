"""Noisy neighbours: a tenant whose requests or storage on a recent day (yesterday, or today so
far) reach `noisy_neighbour_factor` × its trailing 7-day average is flagged once, alerted (SNS and
the alerts table) and shown with a recommendation; the flag clears when the jump is over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, text

from control_plane.context import AppContext
from control_plane.core import alerts
from control_plane.db.models import NoisyNeighbourFlag, Tenant
from control_plane.services.placement import LIVE
from control_plane.units import human_bytes

METRICS = ("requests", "storage_bytes")
# A baseline below these is treated as these: a tenant going from 3 to 40 requests a day is not noisy.
MIN_BASELINE = {"requests": 1_000, "storage_bytes": 50 * 1024 * 1024}
MIN_BASELINE_DAYS = 3

_CANDIDATES = text("""
WITH windowed AS (
    SELECT tenant_slug, day, requests, storage_bytes,
           avg(requests) OVER w AS requests_base,
           avg(storage_bytes) OVER w AS storage_bytes_base,
           count(*) OVER w AS base_days
      FROM control_plane.usage_daily
     WHERE day BETWEEN :first AND :today
    WINDOW w AS (PARTITION BY tenant_slug ORDER BY day
                 RANGE BETWEEN INTERVAL '7 days' PRECEDING AND INTERVAL '1 day' PRECEDING)
)
SELECT tenant_slug, day, requests, storage_bytes, requests_base, storage_bytes_base, base_days
  FROM windowed
 WHERE day >= :since AND base_days >= :min_days
""")


@dataclass(frozen=True)
class Jump:
    slug: str
    metric: str
    day: date
    value: Decimal
    baseline: Decimal
    factor: Decimal


@dataclass(frozen=True)
class DetectionResult:
    opened: list[Jump]
    still_open: int
    cleared: list[str]
    alert_errors: list[str]

    def summary(self) -> str:
        text_ = (f"{len(self.opened)} new noisy-neighbour flags, {self.still_open} still open, "
                 f"{len(self.cleared)} cleared")
        if self.opened:
            text_ += ": " + ", ".join(f"{j.slug} {j.metric} {j.factor}x" for j in self.opened[:10])
        if self.alert_errors:
            text_ += f"; alert not published: {self.alert_errors[0]}"
        return text_


def find_jumps(ctx: AppContext, today: date, factor: float | None = None) -> list[Jump]:
    factor_d = Decimal(str(factor or ctx.settings.noisy_neighbour_factor))
    with ctx.session_factory() as session:
        rows = session.execute(_CANDIDATES, {"first": today - timedelta(days=8), "today": today,
                                             "since": today - timedelta(days=1),
                                             "min_days": MIN_BASELINE_DAYS}).all()
    best: dict[tuple[str, str], Jump] = {}
    for row in rows:
        for metric in METRICS:
            value = Decimal(getattr(row, metric))
            baseline = Decimal(getattr(row, f"{metric}_base") or 0)
            ratio = value / max(baseline, Decimal(MIN_BASELINE[metric]))
            if ratio >= factor_d:
                jump = Jump(row.tenant_slug, metric, row.day, value, baseline.quantize(Decimal("0.01")),
                            ratio.quantize(Decimal("0.01")))
                key = (row.tenant_slug, metric)
                if key not in best or best[key].factor < jump.factor:
                    best[key] = jump
    return sorted(best.values(), key=lambda j: (-j.factor, j.slug, j.metric))


def recommendation(jump: Jump, cluster: str, neighbours: int) -> str:
    what = "requests" if jump.metric == "requests" else "storage"
    shown = f"{jump.value:,.0f}" if jump.metric == "requests" else human_bytes(jump.value)
    base = f"{jump.baseline:,.0f}/day" if jump.metric == "requests" else human_bytes(jump.baseline)
    observed = f"{what} at {jump.factor}x its 7-day baseline ({shown} on {jump.day} vs {base})"
    if neighbours > 0:
        return (f"Move {jump.slug} to its own cluster: {observed} while it shares cluster {cluster} with "
                f"{neighbours} other tenants. Move it while it keeps working: `tenants move {jump.slug} --to CLUSTER`, "
                "or \"Move to another cluster\" on its page (admins), after `clusters add` if no cluster has room; "
                "meanwhile watch that cluster's Aurora capacity.")
    return (f"{jump.slug} already has cluster {cluster} to itself: {observed}. Raise that cluster's ACU ceiling "
            "if the growth is expected, or contact the customer.")


def detect_noisy_neighbours(ctx: AppContext, now: datetime) -> DetectionResult:
    jumps = find_jumps(ctx, now.date())
    current = {(j.slug, j.metric): j for j in jumps}
    opened: list[Jump] = []
    new: list[alerts.NewAlert] = []
    with ctx.session_factory() as session:
        open_flags = {(f.tenant_slug, f.metric): f for f in session.scalars(
            select(NoisyNeighbourFlag).where(NoisyNeighbourFlag.cleared_at.is_(None)).with_for_update())}
        cleared = [f"{slug}:{metric}" for (slug, metric) in open_flags if (slug, metric) not in current]
        for (slug, metric), flag in open_flags.items():
            if (slug, metric) not in current:
                flag.cleared_at = now
        placement = _placement(session, {j.slug for j in jumps})
        for key, jump in current.items():
            cluster, neighbours = placement.get(jump.slug, ("unknown", 0))
            advice = recommendation(jump, cluster, neighbours)
            if key in open_flags:
                flag = open_flags[key]
                flag.value, flag.baseline, flag.factor, flag.recommendation = (jump.value, jump.baseline,
                                                                               jump.factor, advice)
                continue
            session.add(NoisyNeighbourFlag(at=now, tenant_slug=jump.slug, metric=jump.metric, value=jump.value,
                                           baseline=jump.baseline, factor=jump.factor, recommendation=advice))
            new.append(alerts.NewAlert("noisy_neighbour", "warning", advice, target=cluster, tenant_slug=jump.slug,
                                       at=now))
            opened.append(jump)
        alert_ids = [a.id for a in alerts.add(session, new)]
        session.commit()
    return DetectionResult(opened=opened, still_open=len(current) - len(opened), cleared=cleared,
                           alert_errors=alerts.publish(ctx, alert_ids).errors)


def _placement(session, slugs: set[str]) -> dict[str, tuple[str, int]]:
    """Each tenant's cluster and how many other live tenants share it."""
    if not slugs:
        return {}
    homes = dict(session.execute(select(Tenant.slug, Tenant.cluster_name).where(Tenant.slug.in_(slugs))).all())
    sizes = dict(session.execute(select(Tenant.cluster_name, func.count()).where(Tenant.status.in_(LIVE))
                                 .group_by(Tenant.cluster_name)).all())
    return {slug: (cluster, max(sizes.get(cluster, 1) - 1, 0)) for slug, cluster in homes.items()}
