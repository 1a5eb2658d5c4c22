"""A tenant's whole story for its page (docs/tenant-page.md "Tenant page"): who it is, what it pays and
has paid (the revenue ledger), how much it uses against its plan, this month's uptime against the
SLO and its incidents, noisy-neighbour flags, archive and moves, notes and the audit trail.

Everything is read in one session with a fixed number of statements (tenant_story_queries.py,
the uptime counts and the moves ledger), each bounded by the slug: the page costs the same for
the 20,000th tenant as for the first. "Today" and "now" are parameters, so a test pins them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from control_plane.adapters import tenant_reads as tenant_reads_adapter
from control_plane.archive.service import archive_keys
from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.authorization import authorize
from control_plane.core.tenant_view import TenantView, view_of_row
from control_plane.domain.plan_limits import Allowance, allowance_of
from control_plane.domain.slugs import validate_slug
from control_plane.domain.text import clean_text
from control_plane.errors import InvalidInput, NotFound
from control_plane.moves.ledger import MoveView
from control_plane.moves.ledger import history as move_history
from control_plane.services import tenant_story_queries as q
from control_plane.uptime import slo
from control_plane.uptime.counts import counts as uptime_counts
from control_plane.uptime.store import read_marks
from control_plane.uptime.targets import tenant_targets

USAGE_DAYS = 30  # the trend: the last 30 complete days
AVERAGE_DAYS = 7  # requests compared as 7-day averages (a single day swings with the weekday)
AUDIT_LIMIT = 200
NOTES_LIMIT = 100
INCIDENT_LIMIT = 50
NOISY_LIMIT = 20
MOVE_LIMIT = 20
NOISY_CLEARED_DAYS = 30
NOTE_MAX = 2000
ARCHIVED = ("archived", "purged")


@dataclass(frozen=True)
class PlanPeriod:
    """One state of the subscription ledger, from `effective_date` until the next one."""

    effective_date: date
    plan: str
    status: str
    interval: str
    price: Decimal
    seats: int
    discount_percent: Decimal
    mrr_cents: int
    change_cents: int  # against the state before (the first against nothing)
    source: str


@dataclass(frozen=True)
class PlanStep:
    """A ledger state without its money: what every reader of the tenant may see."""

    effective_date: date
    plan: str
    status: str
    interval: str
    seats: int


@dataclass(frozen=True)
class Billing:
    history: list[PlanPeriod]
    current: PlanPeriod | None  # the state in force today (None: no ledger entry yet, or it starts later)
    scheduled: list[PlanPeriod]  # states dated after today

    @property
    def mrr_cents(self) -> int:
        return self.current.mrr_cents if self.current else 0


@dataclass(frozen=True)
class UsageDay:
    day: date
    storage_bytes: int
    requests: int
    errors: int
    p95_latency_ms: Decimal | None


@dataclass(frozen=True)
class Usage:
    days: list[UsageDay]  # complete days, oldest first, at most USAGE_DAYS
    today: UsageDay | None  # today so far (storage is a snapshot; requests are partial)
    allowance: Allowance | None

    @property
    def storage_now(self) -> int | None:
        latest = self.today or (self.days[-1] if self.days else None)
        return latest.storage_bytes if latest else None

    @property
    def storage_change(self) -> int | None:
        """Latest storage against the first day of the trend: the same window the sparkline draws."""
        if self.storage_now is None or not self.days or (self.today is None and len(self.days) < 2):
            return None
        return self.storage_now - self.days[0].storage_bytes

    def requests_average(self, weeks_back: int = 0) -> Fraction | None:
        """Mean requests per day over 7 complete days, `weeks_back` weeks before the latest ones."""
        end = len(self.days) - AVERAGE_DAYS * weeks_back
        window = self.days[max(0, end - AVERAGE_DAYS):max(0, end)]
        if len(window) < AVERAGE_DAYS:
            return None
        return Fraction(sum(d.requests for d in window), len(window))

    @property
    def storage_share(self) -> Fraction | None:
        if self.allowance is None or self.storage_now is None:
            return None
        return Fraction(self.storage_now, self.allowance.storage_bytes)

    @property
    def requests_share(self) -> Fraction | None:
        average = self.requests_average()
        if self.allowance is None or average is None:
            return None
        return average / self.allowance.requests_per_day


@dataclass(frozen=True)
class Incident:
    id: int
    target: str
    opened_at: datetime
    resolved_at: datetime | None
    failed_checks: int
    last_error: str | None
    acknowledged_by: str | None


@dataclass(frozen=True)
class MonthUptime:
    start: datetime
    end: datetime
    checks: int
    ok: int
    slo_target: float
    incidents: list[Incident]

    @property
    def uptime(self) -> Fraction | None:
        return slo.uptime_exact(self.checks, self.ok)

    @property
    def slo_met(self) -> bool | None:
        """docs/uptime.md "SLO and error budget": ok ≥ SLO × checks, on exact values."""
        return slo.slo_met(self.checks, self.ok, self.slo_target)

    @property
    def budget_left(self) -> Fraction | None:
        return slo.budget_left_exact(self.checks, self.ok, self.slo_target)


@dataclass(frozen=True)
class NoisyFlag:
    metric: str
    value: Decimal
    baseline: Decimal
    factor: Decimal
    at: datetime
    cleared_at: datetime | None
    recommendation: str


@dataclass(frozen=True)
class Archive:
    uri: str | None
    bucket: str | None
    key: str | None
    size_bytes: int | None
    sha256: str | None
    tables: int | None
    archived_at: datetime | None
    purge_after: datetime | None

    @property
    def checksum_recorded(self) -> bool:
        return bool(self.sha256)


@dataclass(frozen=True)
class Note:
    id: int
    at: datetime
    author: str
    role: str | None
    text: str


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    actor_role: str | None
    action: str
    outcome: str
    reason: str | None
    target: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class TenantStory:
    tenant: TenantView
    plan_name: str | None
    list_price: Decimal | None
    plan_history: list[PlanStep]  # oldest first
    billing: Billing | None  # None when the reader may not see revenue (revenue.read)
    usage: Usage
    month: MonthUptime
    noisy: list[NoisyFlag]
    archive: Archive | None  # None when the tenant was never archived
    moves: list[MoveView]
    notes: list[Note]
    audit: list[AuditRow]
    audit_limit: int
    now: datetime

    @property
    def is_archived(self) -> bool:
        return self.tenant.status in ARCHIVED

    @property
    def open_noisy(self) -> list[NoisyFlag]:
        return [f for f in self.noisy if f.cleared_at is None]


def story(ctx: AppContext, actor: Actor, slug: str, *, now: datetime) -> TenantStory:
    """The tenant's page, read at `now` (timezone-aware): its month is now's calendar month in UTC."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.show", tenant_slug=slug)
    now = now.astimezone(UTC)
    today = now.date()
    month_start = datetime(now.year, now.month, 1, tzinfo=UTC)
    with ctx.session_factory() as session:
        row = tenant_reads_adapter.fetch_tenant(session.connection().connection.driver_connection, slug)
        if row is None:
            raise NotFound(f"No tenant {slug!r}.")
        tenant = view_of_row(row)
        facts = q.tenant_facts(session, slug) or {}
        ledger = q.subscription_history(session, slug)
        usage = q.usage_days(session, slug, today - timedelta(days=USAGE_DAYS), today)
        per_target = uptime_counts(session, month_start, now, targets=tenant_targets(slug),
                                   marks=read_marks(session), with_p95=False)
        incidents = q.incidents_between(session, slug, month_start, now, INCIDENT_LIMIT)
        noisy = q.noisy_flags(session, slug, now - timedelta(days=NOISY_CLEARED_DAYS), NOISY_LIMIT)
        moves = move_history(session, slug, MOVE_LIMIT)
        notes = q.notes(session, slug, NOTES_LIMIT)
        trail = q.audit_trail(session, slug, AUDIT_LIMIT)
    return TenantStory(
        tenant=tenant, plan_name=facts.get("plan_name"), list_price=facts.get("list_price"),
        plan_history=[PlanStep(effective_date=r["effective_date"], plan=r["plan"], status=r["status"],
                               interval=r["interval"], seats=r["seats"]) for r in ledger],
        billing=_billing(ledger, today) if actor.can(Permission.REVENUE_READ) else None,
        usage=_usage(usage, today, allowance_of(tenant.plan)),
        month=MonthUptime(start=month_start, end=now, checks=int(per_target["checks"].sum()),
                          ok=int(per_target["ok"].sum()), slo_target=ctx.settings.slo_target,
                          incidents=[Incident(**r) for r in incidents]),
        noisy=[NoisyFlag(**r) for r in noisy], archive=_archive(facts), moves=moves,
        notes=[Note(id=r["id"], at=r["at"], author=r["actor"], role=r["actor_role"], text=r["reason"] or "")
               for r in notes],
        audit=[AuditRow(**r) for r in trail], audit_limit=AUDIT_LIMIT, now=now)


def add_note(ctx: AppContext, actor: Actor, slug: str, text: str) -> Note:
    """A note on the tenant's page, kept as the audit entry `tenant.note` (its text in `reason`,
    where the Audit log page searches): notes are never edited or deleted, like the rest of the log."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_NOTE, q.NOTE_ACTION, tenant_slug=slug)
    body = clean_text(text, "Note", NOTE_MAX, multiline=True)
    if not body:
        raise InvalidInput("Write the note first: it is empty.")
    with ctx.session_factory() as session:
        if q.tenant_facts(session, slug) is None:
            raise NotFound(f"No tenant {slug!r}.")
        audit.record(session, actor, q.NOTE_ACTION, tenant_slug=slug, reason=body)
        session.commit()
        latest = q.notes(session, slug, 1)[0]
    return Note(id=latest["id"], at=latest["at"], author=latest["actor"], role=latest["actor_role"],
                text=latest["reason"])


def _billing(rows: list[dict[str, Any]], today: date) -> Billing:
    history: list[PlanPeriod] = []
    previous = 0
    for r in rows:
        history.append(PlanPeriod(
            effective_date=r["effective_date"], plan=r["plan"], status=r["status"], interval=r["interval"],
            price=r["price"], seats=r["seats"], discount_percent=r["discount_percent"], mrr_cents=r["mrr_cents"],
            change_cents=r["mrr_cents"] - previous, source=r["source"]))
        previous = r["mrr_cents"]
    in_force = [p for p in history if p.effective_date <= today]
    return Billing(history=history, current=in_force[-1] if in_force else None,
                   scheduled=[p for p in history if p.effective_date > today])


def _usage(rows: list[dict[str, Any]], today: date, allowance: Allowance | None) -> Usage:
    days = [UsageDay(day=r["day"], storage_bytes=int(r["storage_bytes"]), requests=int(r["requests"]),
                     errors=int(r["errors"]), p95_latency_ms=r["p95_latency_ms"]) for r in rows]
    return Usage(days=[d for d in days if d.day < today], today=next((d for d in days if d.day == today), None),
                 allowance=allowance)


def _archive(facts: dict[str, Any]) -> Archive | None:
    uri = facts.get("archive_uri")
    if not uri and facts.get("archived_at") is None:
        return None
    bucket, key = (None, None)
    if uri:
        bucket, keys = archive_keys(uri)
        key = keys[0]
    tables = facts.get("archive_tables")
    return Archive(uri=uri, bucket=bucket, key=key, size_bytes=facts.get("archive_size_bytes"),
                   sha256=facts.get("archive_sha256"), tables=len(tables) if tables else None,
                   archived_at=facts.get("archived_at"), purge_after=facts.get("purge_after"))
