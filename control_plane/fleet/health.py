"""The soak's verdict: migrated tenants' health against the tenants not migrated yet, over the
same window, from the uptime store (docs/migrations.md "Soak and health")."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from control_plane.fleet import queries
from control_plane.uptime import raw


@dataclass(frozen=True)
class Thresholds:
    failed_rate_delta: float = 0.02  # migrated failed-check ratio may exceed the others' by this much
    incident_factor: float = 2.0  # incidents opened per tenant, migrated vs others
    p95_factor: float = 1.5  # and p95 latency, when it is also p95_margin_ms slower
    p95_margin_ms: float = 50.0


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
class Verdict:
    breach: bool
    reasons: list[str]
    migrated: GroupHealth
    baseline: GroupHealth

    def as_dict(self) -> dict[str, Any]:
        return {"breach": self.breach, "reasons": self.reasons, "migrated": asdict(self.migrated),
                "baseline": asdict(self.baseline)}


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


def judge(migrated: GroupHealth, baseline: GroupHealth, limits: Thresholds = Thresholds()) -> Verdict:
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
    return Verdict(bool(reasons), reasons, migrated, baseline)
