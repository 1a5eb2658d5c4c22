"""Demo data through the real services: accounts, real tenants (real schemas), then each area's
history (revenue, uptime, usage) from the per-area seeders.

Deterministic for a given seed, and safe to run again: a tenant that already exists as demo data
is reused (an interrupted provision is finished), so a re-run tops the catalog up instead of
doubling it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import DateTime, cast, func, select, update

from control_plane.auth.permissions import Actor, Permission, Role
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.core.tenant_view import TenantView
from control_plane.db.models import SubscriptionChange, Tenant
from control_plane.demo import names
from control_plane.demo.constants import DEMO_PASSWORD, MAX_TENANTS
from control_plane.errors import Conflict, InvalidInput, NotFound
from control_plane.services import tenants as tenant_service
from control_plane.services import users as user_service
from control_plane.tenant_schema import revisions

DEMO_ACCOUNTS: tuple[tuple[str, Role, str], ...] = (
    ("founder", Role.FOUNDER, "Demo founder"),
    ("support", Role.SUPPORT, "Demo support"),
    ("oncall", Role.ONCALL, "Demo on-call"),
    ("admin", Role.ADMIN, "Demo admin"),
)
# Share of tenants per plan, and how many demo tenants start suspended (with a reason).
PLAN_MIX = (("free", 0.22), ("starter", 0.30), ("team", 0.26), ("business", 0.16), ("enterprise", 0.06))
SUSPENDED_SHARE = 0.04
# Demo tenants are one template version behind the latest, so a new user can run a canary
# rollout of the pending revision on real schemas right away (docs/migrations.md "Revisions").
DEMO_TEMPLATE_VERSION = max(1, revisions.DEFAULT.latest - 1)
SUSPEND_REASONS = ("Unpaid invoice (30 days overdue)", "Abuse report under review", "Customer asked to pause",
                   "Card declined three times")

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def _quiet(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class SeedResult:
    tenants: list[TenantView]
    accounts_created: list[str]
    seconds: dict[str, float] = field(default_factory=dict)


def seed_demo(ctx: AppContext, actor: Actor, *, tenants: int, months: int, seed: int = 7,
              accounts: bool = True, workers: int = 4, progress: Progress = _quiet,
              now: datetime | None = None) -> SeedResult:
    """`now` (default: the clock) is the moment the generated history ends at; tests pass it so
    the data has the same shape on a weekend, a month end or a leap day."""
    now = now or datetime.now(UTC)
    authorize(ctx, actor, Permission.DEMO_SEED, "demo.seed")
    if not 0 <= tenants <= MAX_TENANTS:
        raise InvalidInput(f"--tenants must be between 0 and {MAX_TENANTS}, got {tenants}.")
    if not 1 <= months <= 60:
        raise InvalidInput(f"--months must be between 1 and 60, got {months}.")
    if not 1 <= workers <= 16:
        raise InvalidInput("workers must be between 1 and 16.")
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    created = ensure_demo_accounts(ctx, actor) if accounts else []
    seconds["accounts"] = time.perf_counter() - started

    started = time.perf_counter()
    views = _provision_all(ctx, actor, _tenant_specs(rng, tenants), workers, progress)
    views = _suspend_some(ctx, actor, views, rng)
    seconds["tenants"] = time.perf_counter() - started

    # Imported here, called by attribute: each area fills in its own seeder.
    from control_plane.demo import revenue, uptime, usage

    for stage, module in (("revenue", revenue), ("uptime", uptime), ("usage", usage)):
        started = time.perf_counter()
        progress(stage, 0, 1)
        module.seed(ctx, views, months, random.Random(f"{seed}-{stage}"), now=now)  # noqa: S311
        progress(stage, 1, 1)
        seconds[stage] = time.perf_counter() - started
    _backdate_created(ctx, [v.slug for v in views])
    return SeedResult(tenants=views, accounts_created=created, seconds=seconds)


def _backdate_created(ctx: AppContext, slugs: list[str]) -> None:
    """Demo tenants were all provisioned just now, but their billing history goes back months:
    date each one's creation to its first subscription change (also when the history ends on a
    `now` later than the clock), so the two tell one story and no crowd is "created today"."""
    if not slugs:
        return
    with ctx.session_factory() as session:
        first = (select(func.min(SubscriptionChange.effective_date))
                 .where(SubscriptionChange.tenant == Tenant.slug).scalar_subquery())
        session.execute(update(Tenant).where(Tenant.slug.in_(slugs), Tenant.is_demo, first.is_not(None))
                        .values(created_at=cast(first, DateTime(timezone=True))))
        session.commit()


def ensure_demo_accounts(ctx: AppContext, actor: Actor) -> list[str]:
    """The four demo accounts (password `demo`); existing accounts are left as they are. Refused
    (InvalidInput) unless in demo mode on the embedded catalog: never in a catalog behind DATABASE_URL."""
    created = []
    for username, role, display in DEMO_ACCOUNTS:
        try:
            user_service.add_user(ctx, actor, username, role.value, DEMO_PASSWORD, display_name=display,
                                  demo_account=True)
        except Conflict:
            continue
        created.append(username)
    return created


@dataclass(frozen=True)
class _Spec:
    slug: str
    name: str
    plan: str
    owner_email: str


def _tenant_specs(rng: random.Random, count: int) -> list[_Spec]:
    plans = [p for p, _ in PLAN_MIX]
    weights = [w for _, w in PLAN_MIX]
    specs = []
    for company in names.companies(rng, count):
        slug = names.slug_for(company)
        owner = f"{rng.choice(names.FIRST_NAMES).lower()}@{slug.replace('_', '-')}.example.com"
        specs.append(_Spec(slug, company, rng.choices(plans, weights)[0], owner))
    return specs


def _provision_all(ctx: AppContext, actor: Actor, specs: list[_Spec], workers: int,
                   progress: Progress) -> list[TenantView]:
    progress("tenants", 0, len(specs))

    def one(spec: _Spec) -> TenantView:
        try:
            return tenant_service.provision(ctx, actor, spec.slug, spec.name, spec.plan,
                                            owner_email=spec.owner_email, is_demo=True,
                                            template_version=DEMO_TEMPLATE_VERSION)
        except Conflict:
            try:
                existing = tenant_service.show(ctx, actor, spec.slug)
            except NotFound:  # the schema exists on the cluster without a catalog row (drift)
                existing = None
            if existing is not None and existing.is_demo:
                return existing  # seeded by an earlier run
            # The slug belongs to a real tenant or to drift: leave that alone, use another.
            return tenant_service.provision(ctx, actor, names.alternative_slug(spec.slug), spec.name, spec.plan,
                                            owner_email=spec.owner_email, is_demo=True,
                                            template_version=DEMO_TEMPLATE_VERSION)

    views: list[TenantView] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for view in pool.map(one, specs):
            views.append(view)
            progress("tenants", len(views), len(specs))
    return views


def _suspend_some(ctx: AppContext, actor: Actor, views: list[TenantView], rng: random.Random) -> list[TenantView]:
    out = []
    for current in views:
        if current.status == "active" and rng.random() < SUSPENDED_SHARE:
            out.append(tenant_service.suspend(ctx, actor, current.slug, rng.choice(SUSPEND_REASONS)))
        else:
            out.append(current)
    return out
