"""The catalog: the control plane's own tables in schema `control_plane`.

Changes go through Alembic migrations in control_plane/migrations; keep this module and the
migrations in step (`python -m control_plane db upgrade` then the migration test compares them).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "control_plane"
TENANT_STATUSES = ("provisioning", "active", "suspended", "archiving", "archived", "purged")
ROLES = ("founder", "support", "oncall", "admin")


class Base(DeclarativeBase):
    metadata = MetaData(
        schema=SCHEMA,
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        },
    )
    type_annotation_map = {dict[str, Any]: JSONB}  # noqa: RUF012 - SQLAlchemy reads it from the class


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Plan(Base):
    __tablename__ = "plans"
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    list_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    interval: Mapped[str] = mapped_column(Text, server_default="month")
    sort_order: Mapped[int] = mapped_column(Integer, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    __table_args__ = (CheckConstraint("interval in ('month','year')", name="interval"),)


class Cluster(Base):
    __tablename__ = "clusters"
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    # Connection strings never live in the catalog: the name of the environment variable does.
    # NULL means "the catalog database itself" (the default cluster).
    url_env: Mapped[str | None] = mapped_column(Text)
    aurora_cluster_id: Mapped[str | None] = mapped_column(Text)
    acu_floor: Mapped[Decimal] = mapped_column(Numeric(6, 1), server_default="0.5")
    acu_ceiling: Mapped[Decimal] = mapped_column(Numeric(6, 1), server_default="64")
    capacity_weight: Mapped[Decimal] = mapped_column(Numeric(8, 2), server_default="1")
    accepts_tenants: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = _now()


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    owner_email: Mapped[str | None] = mapped_column(Text)
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"))
    status: Mapped[str] = mapped_column(Text)
    status_reason: Mapped[str | None] = mapped_column(Text)
    cluster_name: Mapped[str] = mapped_column(ForeignKey("clusters.name"))
    endpoint_url: Mapped[str | None] = mapped_column(Text)
    template_version: Mapped[int | None] = mapped_column(Integer)
    is_demo: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    archive_uri: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purge_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the archive at archive_uri must be, recorded when it was made and verified: restore
    # refuses an object in S3 whose sha256 differs (the manifest next to it proves nothing).
    archive_sha256: Mapped[str | None] = mapped_column(Text)
    archive_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    archive_tables: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # table -> rows dumped
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("status in ('provisioning','active','suspended','archiving','archived','purged')",
                        name="status"),
        Index("ix_tenants_status", "status"),
        Index("ix_tenants_plan_code", "plan_code"),
        Index("ix_tenants_cluster_name", "cluster_name"),
        Index("ix_tenants_owner_email_lower", func.lower(text("owner_email"))),
        # "Is anything below version V?" answered from the index (docs/migrations.md "Ledger"): on the
        # expression the queries compare (an unrecorded version is version 1), or they cannot use it.
        Index("ix_tenants_version_or_first", func.coalesce(text("template_version"), 1)),
    )


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = _now()
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("role in ('founder','support','oncall','admin')", name="role"),)


class SignInThrottle(Base):
    """Failed sign-ins per account name (as typed, lowercased; existing or not) and per client, in
    the catalog so every app process sees the same count (control_plane/auth/throttle.py)."""

    __tablename__ = "sign_in_throttle"
    scope: Mapped[str] = mapped_column(Text, primary_key=True)  # account | client
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # row forgotten after this
    __table_args__ = (CheckConstraint("scope in ('account','client')", name="scope"),
                      Index("ix_sign_in_throttle_expires_at", "expires_at"))


class SignInSession(Base):
    """A password sign-in that outlives the Streamlit session (docs/pages.md "The app"): the browser holds
    the random id in a signed cookie, the catalog only its SHA-256, so a copy of this table (a
    backup, a read replica) signs nobody in. Revoked on sign-out, disabling, role and password
    changes."""

    __tablename__ = "sign_in_sessions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)  # sha256 hex of the cookie's random id
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # created_at + CP_SESSION_TTL_MINUTES
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # bumped at most once a minute
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    client: Mapped[str | None] = mapped_column(Text)  # ip:… or session:…, as the sign-in throttle keys it
    user_agent: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (CheckConstraint("char_length(token_hash) = 64", name="token_hash"),
                      Index("ix_sign_in_sessions_user_id", "user_id"),
                      Index("ix_sign_in_sessions_expires_at", "expires_at"))


class AppMarker(Base):
    """Something done once per catalog (e.g. `demo_seeded`); written under an advisory lock."""

    __tablename__ = "app_markers"
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    created_at: Mapped[datetime] = _now()
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = _now()
    actor: Mapped[str] = mapped_column(Text)
    actor_role: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    tenant_slug: Mapped[str | None] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text, server_default="ok")
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    __table_args__ = (
        CheckConstraint("outcome in ('ok','noop','denied','error')", name="outcome"),
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_tenant_slug_at", "tenant_slug", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
    )


class SubscriptionChange(Base):
    """A tenant's whole subscription from `effective_date` on. No FK to tenants: revenue history
    outlives schemas and may name tenants that were never provisioned here."""

    __tablename__ = "subscription_changes"
    tenant: Mapped[str] = mapped_column(Text, primary_key=True)
    effective_date: Mapped[date] = mapped_column(Date, primary_key=True)
    plan: Mapped[str] = mapped_column(Text)
    interval: Mapped[str] = mapped_column(Text)
    price: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    seats: Mapped[int] = mapped_column(Integer)
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(7, 4), server_default="0")
    status: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, server_default="import")
    recorded_at: Mapped[datetime] = _now()
    # The state's MRR in integer cents, computed by PostgreSQL (migration 0003 explains the formula).
    mrr_cents: Mapped[int] = mapped_column(BigInteger, Computed(
        "CASE WHEN status IN ('active', 'past_due') THEN "
        "round(CAST(price * seats * (100 - discount_percent) AS numeric(38, 12)) "
        "/ CASE WHEN interval = 'year' THEN 12 ELSE 1 END)::bigint ELSE 0 END", persisted=True))
    __table_args__ = (
        Index("ix_subscription_changes_effective_date", "effective_date"),
        CheckConstraint("interval in ('month','year')", name="interval"),
        CheckConstraint("status in ('trial','active','past_due','paused','canceled')", name="status"),
        CheckConstraint("seats >= 0", name="seats"),
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint("discount_percent >= 0 and discount_percent <= 100", name="discount"),
    )


class UsageDaily(Base):
    __tablename__ = "usage_daily"
    tenant_slug: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    storage_bytes: Mapped[int] = mapped_column(BigInteger, server_default="0")
    row_estimate: Mapped[int] = mapped_column(BigInteger, server_default="0")
    connections: Mapped[int] = mapped_column(Integer, server_default="0")
    requests: Mapped[int] = mapped_column(BigInteger, server_default="0")
    errors: Mapped[int] = mapped_column(BigInteger, server_default="0")
    p95_latency_ms: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    updated_at: Mapped[datetime] = _now()
    __table_args__ = (Index("ix_usage_daily_day", "day"),)


class CheckTarget(Base):
    """Each health-check target once; raw checks refer to it by `id` (4 bytes instead of a name,
    a tenant and a kind on every check)."""

    __tablename__ = "check_targets"
    id: Mapped[int] = mapped_column(Integer, Identity(always=False), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    tenant_slug: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text, server_default="imported")


# Raw checks of the last hour or two, one narrow row each (no primary key: a check is not an
# entity, and the index below is all reads need). The roll-up job moves finished hours into
# CheckHour; see control_plane/uptime/raw.py.
recent_checks = Table(
    "recent_checks", Base.metadata,
    Column("target_id", Integer, ForeignKey("check_targets.id", ondelete="CASCADE"), nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("latency_cms", Integer),  # hundredths of a millisecond: numeric(10,2) exactly, in 4 bytes
    Column("error", Text),
    Index("ix_recent_checks_target_id_checked_at", "target_id", "checked_at"),
    Index("ix_recent_checks_checked_at", "checked_at"),
)


class CheckHour(Base):
    """One target's raw checks of one UTC hour as parallel arrays (element i of every array is
    check i, in time order): ~18 bytes a check instead of ~170 as a row each."""

    __tablename__ = "check_hours"
    target_id: Mapped[int] = mapped_column(Integer, ForeignKey("check_targets.id", ondelete="CASCADE"),
                                           primary_key=True)
    failures: Mapped[int] = mapped_column(SmallInteger)
    hour_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    checked_at: Mapped[list[datetime]] = mapped_column(ARRAY(DateTime(timezone=True)))
    ok: Mapped[list[bool]] = mapped_column(ARRAY(Boolean))
    latency_cms: Mapped[list[int | None]] = mapped_column(ARRAY(Integer))
    errors: Mapped[list[str | None] | None] = mapped_column(ARRAY(Text))  # NULL when no check had one
    __table_args__ = (Index("ix_check_hours_hour_start", "hour_start"),
                      # failing hours are rare: incident detection walks only these
                      Index("ix_check_hours_failing", "target_id", "hour_start", postgresql_where=text("failures > 0")))


class UptimeMark(Base):
    """Named instants for uptime reads: `raw_since` (raw checks pruned before it), `hour_complete`
    and `day_complete` (roll-ups cover every bucket that ends at or before it)."""

    __tablename__ = "uptime_marks"
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CheckRollup(Base):
    __tablename__ = "check_rollups"
    target: Mapped[str] = mapped_column(Text, primary_key=True)
    granularity: Mapped[str] = mapped_column(Text, primary_key=True)
    bucket_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    tenant_slug: Mapped[str | None] = mapped_column(Text)
    checks: Mapped[int] = mapped_column(Integer)
    ok: Mapped[int] = mapped_column(Integer)
    p95_latency_ms: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    __table_args__ = (CheckConstraint("granularity in ('hour','day')", name="granularity"),
                      Index("ix_check_rollups_bucket", "granularity", "bucket_start"))


class Incident(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(Text)
    tenant_slug: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_checks: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    # on-call's hand close (docs/runbook.md); resolved_at stays the check that answered again
    assigned_to: Mapped[str | None] = mapped_column(Text)
    assigned_by: Mapped[str | None] = mapped_column(Text)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_incidents_target_opened_at", "target", "opened_at"),
                      Index("ix_incidents_open", "resolved_at", postgresql_where=text("resolved_at IS NULL")))


class MaintenanceWindow(Base):
    __tablename__ = "maintenance_windows"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    target: Mapped[str | None] = mapped_column(Text)
    tenant_slug: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="span"),)


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = _now()
    kind: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(Text, server_default="warning")
    target: Mapped[str | None] = mapped_column(Text)
    tenant_slug: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    publish_error: Mapped[str | None] = mapped_column(Text)
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_to: Mapped[str | None] = mapped_column(Text)
    assigned_by: Mapped[str | None] = mapped_column(Text)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_alerts_at", "at"), Index("ix_alerts_kind_target_at", "kind", "target", "at"))


class ScalingDecision(Base):
    __tablename__ = "scaling_decisions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = _now()
    cluster_name: Mapped[str] = mapped_column(Text)
    aurora_cluster_id: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)  # scale_up | scale_down | no_change | error
    outcome: Mapped[str] = mapped_column(Text)  # applied | dry_run | skipped | failed
    dry_run: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    current_min_acu: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    current_max_acu: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    new_min_acu: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    new_max_acu: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    reason: Mapped[str | None] = mapped_column(Text)
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_scaling_decisions_cluster_at", "cluster_name", "at"),)


class NoisyNeighbourFlag(Base):
    __tablename__ = "noisy_neighbour_flags"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = _now()
    tenant_slug: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(Text)
    value: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    baseline: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    factor: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    recommendation: Mapped[str] = mapped_column(Text)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_noisy_neighbour_flags_tenant_at", "tenant_slug", "at"),)


class JobRun(Base):
    __tablename__ = "job_runs"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = _now()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, server_default="running")
    summary: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(Text, server_default="schedule")
    # The occurrence a scheduled run stands for: unique per job, so no two leaders run it both.
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The catalog session holding the run's job lock: gone while `running` means orphaned.
    backend_pid: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint("status in ('running','succeeded','failed','timed_out')", name="status"),
        Index("ix_job_runs_job_id_started_at", "job_id", "started_at"),
        Index("ix_job_runs_started_at", "started_at"),
        Index("uq_job_runs_job_id_scheduled_for", "job_id", "scheduled_for", unique=True,
              postgresql_where=text("scheduled_for IS NOT NULL")),
        Index("ix_job_runs_running", "id", postgresql_where=text("status = 'running'")),
    )


class JobSchedule(Base):
    """Each scheduled job's next due time, kept across leaders (control_plane/scheduler/schedule.py)."""

    __tablename__ = "job_schedule"
    job_id: Mapped[str] = mapped_column(Text, primary_key=True)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = _now()
    updated_by: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (CheckConstraint("interval_seconds > 0", name="interval"),)


# --- fleet schema migrations (docs/migrations.md) ----------------------------------------------

RUN_STATUSES = ("planned", "running", "soaking", "halted", "completed", "rolled_back")
RESULT_STATUSES = ("pending", "applied", "failed", "skipped", "reversed", "reverse_failed")


class MigrationRun(Base):
    """One rollout of the tenant template to `target_version`, wave by wave."""

    __tablename__ = "migration_runs"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    target_version: Mapped[int] = mapped_column(Integer)
    waves: Mapped[list[int]] = mapped_column(ARRAY(Integer))  # cumulative percentages, e.g. [5, 25, 100]
    status: Mapped[str] = mapped_column(Text, server_default="planned")
    queued: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))  # the worker drives it
    current_wave: Mapped[int] = mapped_column(Integer, server_default="1")
    soak_seconds: Mapped[int] = mapped_column(Integer)
    wave_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    soak_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    options: Mapped[dict[str, Any]] = mapped_column(JSONB)
    decisions: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    halt_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("status in ('planned','running','soaking','halted','completed','rolled_back')",
                        name="status"),
        CheckConstraint("soak_seconds >= 0", name="soak"),
        Index("ix_migration_runs_created_at", "created_at"),
        # At most one run moves tenants at a time.
        Index("uq_migration_runs_active", text("(true)"), unique=True,
              postgresql_where=text("status in ('planned','running','soaking')")),
    )


class MigrationResult(Base):
    """One tenant in one run: its wave and what happened (rows written at planning, `pending`)."""

    __tablename__ = "migration_results"
    run_id: Mapped[int] = mapped_column(ForeignKey("migration_runs.id", ondelete="CASCADE"), primary_key=True)
    tenant_slug: Mapped[str] = mapped_column(Text, primary_key=True)
    cluster_name: Mapped[str] = mapped_column(Text)
    wave: Mapped[int] = mapped_column(Integer)  # 0: skipped at planning
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("status in ('pending','applied','failed','skipped','reversed','reverse_failed')",
                        name="status"),
        Index("ix_migration_results_run_id_wave_status", "run_id", "wave", "status"),
    )


class MigrationDump(Base):
    """The verified copy (S3) of a tenant's data that a rollback dropped (docs/migrations.md)."""

    __tablename__ = "migration_dumps"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("migration_runs.id", ondelete="CASCADE"))
    tenant_slug: Mapped[str] = mapped_column(Text)
    cluster_name: Mapped[str] = mapped_column(Text)
    from_version: Mapped[int] = mapped_column(Integer)  # the version it was at when dumped
    to_version: Mapped[int] = mapped_column(Integer)  # the version the rollback took it back to
    uri: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    tables: Mapped[dict[str, Any]] = mapped_column(JSONB)  # rows per table in the dump
    dropped: Mapped[dict[str, Any]] = mapped_column(JSONB)  # rows per table/column the reverse drops
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (Index("ix_migration_dumps_run_id", "run_id", "tenant_slug"),)


class TenantMove(Base):
    """One move of a tenant's schema to another cluster, step by step (docs/moves.md)."""

    __tablename__ = "tenant_moves"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_slug: Mapped[str] = mapped_column(Text)
    source_cluster: Mapped[str] = mapped_column(Text)
    target_cluster: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(Text)  # online | offline
    status: Mapped[str] = mapped_column(Text, server_default="running")
    step: Mapped[str] = mapped_column(Text, server_default="requested")  # the last step finished
    steps: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))  # [{step, at, ms}]
    template_version: Mapped[int] = mapped_column(Integer)
    tenant_status: Mapped[str] = mapped_column(Text)  # active | suspended when the move began
    cancel_requested: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    cutover_lsn: Mapped[str | None] = mapped_column(Text)
    writes_blocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    writes_unblocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    writes_blocked_ms: Mapped[int | None] = mapped_column(Integer)
    verification: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    retained_schema: Mapped[str | None] = mapped_column(Text)
    retain_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("status in ('running','completed','cancelled','failed')", name="status"),
        CheckConstraint("mode in ('online','offline')", name="mode"),
        Index("ix_tenant_moves_tenant_slug", "tenant_slug", "created_at"),
        # One move per tenant at a time.
        Index("uq_tenant_moves_active", "tenant_slug", unique=True, postgresql_where=text("status = 'running'")),
    )


class ArchiveRequest(Base):
    """A request to archive a tenant, filed by a role that may not archive (support), and what an
    admin decided: approved (the archive ran) or declined with a reason (docs/lifecycle.md)."""

    __tablename__ = "archive_requests"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_slug: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = _now()
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("status in ('pending','approved','declined')", name="status"),
        Index("ix_archive_requests_tenant_slug", "tenant_slug", "requested_at"),
        # One open request per tenant: a second one is refused, naming the first.
        Index("uq_archive_requests_pending", "tenant_slug", unique=True, postgresql_where=text("status = 'pending'")),
    )
