"""Who may do what. Services check these; navigation shows only what a role may open."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    FOUNDER = "founder"
    SUPPORT = "support"
    ONCALL = "oncall"
    ADMIN = "admin"


class Permission(StrEnum):
    TENANTS_READ = "tenants.read"
    TENANTS_PROVISION = "tenants.provision"
    TENANTS_SUSPEND = "tenants.suspend"
    TENANTS_RESUME = "tenants.resume"
    TENANTS_CHANGE_PLAN = "tenants.change_plan"
    TENANTS_REQUEST_ARCHIVE = "tenants.request_archive"
    TENANTS_ARCHIVE = "tenants.archive"
    TENANTS_RESTORE = "tenants.restore"
    USERS_MANAGE = "users.manage"
    AUDIT_READ = "audit.read"
    REVENUE_READ = "revenue.read"
    BILLING_IMPORT = "billing.import"
    PLANS_MANAGE = "plans.manage"
    UPTIME_READ = "uptime.read"
    UPTIME_IMPORT = "uptime.import"
    INCIDENTS_MANAGE = "incidents.manage"
    ALERTS_MANAGE = "alerts.manage"  # acknowledge, assign, note, resolve a stored alert (docs/runbook.md)
    JOBS_RUN = "jobs.run"
    SCALING_READ = "scaling.read"
    CLUSTERS_MANAGE = "clusters.manage"
    CLUSTERS_CHECK = "clusters.check"
    USAGE_READ = "usage.read"
    DEMO_SEED = "demo.seed"
    MIGRATIONS_READ = "migrations.read"
    MIGRATIONS_RUN = "migrations.run"
    MIGRATIONS_DROP_DATA = "migrations.drop_data"  # a rollback whose reverse steps drop rows: admin only
    TENANTS_MOVE = "tenants.move"
    BACKUPS_RUN = "backups.run"  # dumps of the catalog and of every tenant: admin only
    TENANTS_NOTE = "tenants.note"  # a note on the tenant's page, kept in the audit log


_READ_ALL = {Permission.TENANTS_READ, Permission.USAGE_READ, Permission.AUDIT_READ, Permission.MIGRATIONS_READ}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.FOUNDER: frozenset(_READ_ALL | {Permission.REVENUE_READ, Permission.UPTIME_READ}),
    Role.SUPPORT: frozenset(_READ_ALL | {
        Permission.TENANTS_PROVISION, Permission.TENANTS_SUSPEND, Permission.TENANTS_RESUME,
        Permission.TENANTS_CHANGE_PLAN, Permission.TENANTS_REQUEST_ARCHIVE, Permission.UPTIME_READ,
        Permission.TENANTS_NOTE,
    }),
    Role.ONCALL: frozenset(_READ_ALL | {
        Permission.UPTIME_READ, Permission.INCIDENTS_MANAGE, Permission.ALERTS_MANAGE, Permission.JOBS_RUN,
        Permission.SCALING_READ, Permission.MIGRATIONS_RUN, Permission.CLUSTERS_CHECK,
    }),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class Actor:
    """The person (or operator at a shell) on whose behalf a service acts."""

    name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]


def system_actor(name: str = "system") -> Actor:
    """Jobs and the CLI act as operators with full rights; the audit log records the name."""
    return Actor(name=name, role=Role.ADMIN)
