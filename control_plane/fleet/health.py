"""The soak's verdict: migrated tenants' health against the tenants not migrated yet, over the
same window, from the uptime store, and the error rate from CloudWatch where configured
(docs/migrations.md "Soak and health")."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from control_plane.aws import cloudwatch
from control_plane.aws.cloudwatch import MetricQuery
from control_plane.fleet import queries
from control_plane.uptime import raw


@dataclass(frozen=True)
class Thresholds:
    failed_rate_delta: float = 0.02  # migrated failed-check ratio may exceed the others' by this much
    incident_factor: float = 2.0  # incidents opened per tenant, migrated vs others
    p95_factor: float = 1.5  # and p95 latency, when it is also p95_margin_ms slower
    p95_margin_ms: float = 50.0
    error_rate_delta: float = 0.01  # migrated Errors/Requests may exceed the others' by this much


@dataclass(frozen=True)
class GroupHealth:
    tenants: int
    checks: int
    failed: int
    incidents: int
    p95_latency_ms: float | None

    @property
    def failed_rate(self) -> float:
        return self.failed / self.checks if self.checks else 0.0

    @property
    def incidents_per_tenant(self) -> float:
        return self.incidents / self.tenants if self.tenants else 0.0


@dataclass(frozen=True)
class ErrorCounts:
    """A group's CloudWatch Requests and Errors summed over the soak window."""

    requests: float
    errors: float

    @property
    def rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


NO_ERROR_DATA = "error rate: no data"
NOT_CONFIGURED = "error rate: not configured"


@dataclass(frozen=True)
class Verdict:
    breach: bool
    reasons: list[str]
    migrated: GroupHealth
    baseline: GroupHealth
    error_rate: str = NOT_CONFIGURED  # what the error-rate comparison found, shown with the verdict

    def as_dict(self) -> dict[str, Any]:
        return {"breach": self.breach, "reasons": self.reasons, "migrated": asdict(self.migrated),
                "baseline": asdict(self.baseline), "error_rate": self.error_rate}


def measure(session: Session, migrated: list[str], baseline: list[str], start: datetime, end: datetime
            ) -> tuple[GroupHealth, GroupHealth]:
    statement = queries.GROUP_HEALTH.format(source=raw.source(":start", ":end_excl"))
    rows = session.execute(text(statement), {"migrated": migrated, "baseline": baseline, "start": start,
                                             "end": end, "end_excl": end + timedelta(microseconds=1)}).all()
    found = {}
    for is_migrated, checks, failed, incidents, p95_value in rows:
        p95 = float(p95_value) if isinstance(p95_value, (Decimal, int, float)) else None
        found[is_migrated] = (int(checks), int(failed), int(incidents), p95)
    m, b = found[True], found[False]
    return GroupHealth(len(migrated), *m), GroupHealth(len(baseline), *b)


def error_counts(client: Any, namespace: str, dimension: str, migrated: list[str], baseline: list[str], *,
                 start: datetime, end: datetime) -> tuple[ErrorCounts | None, ErrorCounts | None]:
    """Sum of Requests and Errors per group over [start, end) widened to whole minutes (CloudWatch's
    smallest period for these metrics); None for a group with no Requests datapoint. Raises a
    ControlPlaneError when CloudWatch cannot be read."""
    first = start.replace(second=0, microsecond=0)
    last = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    wanted = []
    for slug in [*migrated, *baseline]:
        dims = ((dimension, slug),)
        wanted.append(MetricQuery(f"{slug}|r", namespace, "Requests", dims, "Sum", 60))
        wanted.append(MetricQuery(f"{slug}|e", namespace, "Errors", dims, "Sum", 60))
    found = cloudwatch.fetch(client, wanted, first, last)

    def group(slugs: list[str]) -> ErrorCounts | None:
        requests = [v for s in slugs for _, v in found.get(f"{s}|r", [])]
        if not requests:
            return None
        return ErrorCounts(sum(requests), sum(v for s in slugs for _, v in found.get(f"{s}|e", [])))

    return group(migrated), group(baseline)


def judge(migrated: GroupHealth, baseline: GroupHealth, limits: Thresholds = Thresholds(),
          errors: tuple[ErrorCounts | None, ErrorCounts | None] | None = None) -> Verdict:
    """errors: None when CloudWatch is not configured; a group without data (or a CloudWatch that
    could not be read) never blocks a promotion: the verdict says "no data"."""
    reasons = []
    if migrated.failed and migrated.failed_rate - baseline.failed_rate > limits.failed_rate_delta:
        reasons.append(f"failed checks {migrated.failed_rate:.1%} of {migrated.checks} on migrated tenants vs "
                       f"{baseline.failed_rate:.1%} of {baseline.checks} on the others")
    if migrated.incidents and migrated.incidents_per_tenant > limits.incident_factor * baseline.incidents_per_tenant:
        reasons.append(f"{migrated.incidents} incident(s) opened on {migrated.tenants} migrated tenant(s) vs "
                       f"{baseline.incidents} on {baseline.tenants} others")
    m95, b95 = migrated.p95_latency_ms, baseline.p95_latency_ms
    if m95 is not None and b95 is not None and m95 > b95 * limits.p95_factor and m95 - b95 > limits.p95_margin_ms:
        reasons.append(f"p95 latency {m95:.0f} ms on migrated tenants vs {b95:.0f} ms on the others")
    error_rate = NOT_CONFIGURED
    if errors is not None:
        m_err, b_err = errors
        if m_err is None or b_err is None or not m_err.requests or not b_err.requests:
            error_rate = NO_ERROR_DATA
        else:
            error_rate = (f"error rate {m_err.rate:.2%} of {m_err.requests:.0f} requests on migrated tenants vs "
                          f"{b_err.rate:.2%} of {b_err.requests:.0f} on the others")
            if m_err.errors and m_err.rate - b_err.rate > limits.error_rate_delta:
                reasons.append(error_rate)
    return Verdict(bool(reasons), reasons, migrated, baseline, error_rate)
