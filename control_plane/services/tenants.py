"""Tenant lifecycle service: provision, suspend, resume, change plan, show, list.

Every transition is idempotent and safe to re-run after a crash at any point:
- the catalog row is written first (status `provisioning`), committed on its own;
- the schema, role and grants are created in one transaction on the tenant's cluster;
- the row becomes `active` in that same transaction when the cluster's database is the catalog's
  (the default cluster on installs from before the split), or right after it otherwise.
  Re-running `provision` finishes whatever an earlier run left.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_plane import probe_guard
from control_plane.adapters import tenant_ddl
from control_plane.adapters.cluster_catalog import inspect_tenant
from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core import audit, lookups
from control_plane.core.authorization import authorize
from control_plane.core.faults import FaultHook, no_fault
from control_plane.core.tenant_view import TenantView, view
from control_plane.db import advisory_locks
from control_plane.db.models import Cluster, Plan, Tenant
from control_plane.domain.lifecycle import Action, Status, require_transition
from control_plane.domain.slugs import schema_name, validate_slug
from control_plane.domain.text import CODE_MAX, REASON_MAX, clean_text
from control_plane.errors import ConfigError, Conflict, InvalidInput, NotFound
from control_plane.moves import ledger as moves_ledger
from control_plane.revenue import hooks
from control_plane.services import cluster_posture, tenant_reads
from control_plane.services.placement import choose_cluster
from control_plane.tenant_schema import revisions, template

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def snapshot(tenant: Tenant) -> dict[str, Any]:
    return {"status": tenant.status, "plan": tenant.plan_code, "reason": tenant.status_reason,
            "cluster": tenant.cluster_name}


# --- provision -----------------------------------------------------------------------------

def provision(ctx: AppContext, actor: Actor, slug: str, name: str, plan: str, *,
              cluster: str | None = None, owner_email: str | None = None,
              endpoint_url: str | None = None, is_demo: bool = False, template_version: int | None = None,
              allow_unsafe_cluster: bool = False, fault: FaultHook = no_fault) -> TenantView:
    """`template_version` creates the schema at an older version of the template (a rehearsal of
    a rollout on real schemas, docs/migrations.md); default the latest. A cluster that fails its
    posture check (services/cluster_posture.py) is refused unless `allow_unsafe_cluster`."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_PROVISION, "tenant.provision", tenant_slug=slug)
    version = revisions.DEFAULT.latest if template_version is None else revisions.DEFAULT.check(template_version)
    name = _clean_name(name)
    plan, cluster = clean_text(plan, "Plan", CODE_MAX), clean_text(cluster, "Cluster", CODE_MAX) or None
    owner_email = _clean_email(owner_email)
    endpoint_url = _clean_url(ctx, endpoint_url)

    with ctx.session_factory() as session:
        target = _resolve_cluster(session, cluster)
        unsafe = cluster_posture.require_safe(ctx, target, allow_unsafe=allow_unsafe_cluster)
        same_database = ctx.clusters.shares_catalog(target.url_env)  # then the row is visible once all is done

        def new_row() -> Tenant:
            return Tenant(slug=slug, name=name, plan_code=plan, cluster_name=target.name,
                          status=Status.ACTIVE if same_database else Status.PROVISIONING,
                          template_version=version, owner_email=owner_email, endpoint_url=endpoint_url,
                          is_demo=is_demo)

        def record_unsafe() -> None:  # an override is recorded with the tenant's first catalog write
            if unsafe:
                audit.record(session, actor, "tenant.provision.unsafe_cluster", tenant_slug=slug,
                             target=target.name, detail={"failing": unsafe})

        if not same_database:
            done = _provision_new_on_cluster(ctx, session, actor, target, new_row(), record_unsafe=record_unsafe,
                                            fault=fault)
            if done is not None:
                return done
        record_unsafe()
        tenant = _insert_new_tenant(session, new_row())
        resumed = tenant is None
        if tenant is None:  # the slug exists: finish an interrupted provision, or refuse
            tenant = lookups.tenant_or_none(session, slug, lock=True)
            if tenant is None or tenant.status != Status.PROVISIONING:
                raise Conflict(f"Tenant {slug!r} already exists (status {tenant.status if tenant else 'unknown'}).")
            target = _cluster_of(session, tenant)
        if ctx.clusters.shares_catalog(target.url_env):
            # Tenant objects live in the catalog database: catalog row, DDL and audit entry commit
            # together or not at all, so a crash at any point leaves nothing to clean up.
            fault("catalog_recorded")
            _create_objects(session.connection().connection.driver_connection, slug, tenant.template_version,
                            retry=resumed)
            fault("schema_created")
            return _finish_provision(session, actor, tenant, resumed, fault)
        if not resumed:
            audit.record(session, actor, "tenant.provision.start", tenant_slug=slug,
                         after={"status": Status.PROVISIONING.value, "plan": plan, "cluster": target.name})
            session.commit()  # recorded first, so a crash below is finished by re-running
    fault("catalog_recorded")

    # Another cluster: its DDL commits on its own, then the catalog follows. Re-running after a
    # crash in between finds the objects and only marks the tenant active. One run per slug at a
    # time: this connection's session holds an advisory lock on the target cluster until the
    # catalog is done (released by the server if we die), so concurrent runs never race on
    # CREATE ROLE; they get a Conflict, and exactly one run reports success.
    # The catalog row is read and locked once the advisory lock is held (another run may have
    # finished while we waited) and stays locked through the DDL until the tenant is marked
    # active: one catalog transaction around the cluster's, which commits first.
    with ctx.clusters.ddl_connection(target.url_env) as conn, ctx.session_factory() as session:
        _lock_provisioning(conn, slug)
        tenant = lookups.tenant_or_none(session, slug, lock=True)
        if tenant is None:
            raise NotFound(f"Tenant {slug!r} disappeared while being provisioned; run the command again.")
        if tenant.status != Status.PROVISIONING:
            raise Conflict(f"Tenant {slug!r} already exists (status {tenant.status}).")
        # Rows from before versions were recorded while provisioning: version 1, what they were made with.
        with conn.transaction():
            _create_objects(conn, slug, tenant.template_version or revisions.FIRST, retry=True)
            fault("schema_created")
        fault("cluster_committed")
        return _finish_provision(session, actor, tenant, resumed, fault)


def _finish_provision(session: Session, actor: Actor, tenant: Tenant, resumed: bool, fault: FaultHook) -> TenantView:
    _mark_active(session, actor, tenant, resumed)
    fault("before_commit")
    session.commit()
    return view(tenant)


def _mark_active(session: Session, actor: Actor, tenant: Tenant, resumed: bool) -> None:
    """The tenant active, its subscription started and the provision audited; not committed."""
    now = datetime.now(UTC)
    if tenant.status != Status.ACTIVE:
        tenant.status = Status.ACTIVE
        tenant.template_version = tenant.template_version or revisions.FIRST
        tenant.updated_at = now
    hooks.on_provision(session, tenant, now)
    audit.record(session, actor, "tenant.provision", tenant_slug=tenant.slug,
                 after={"status": Status.ACTIVE.value, "plan": tenant.plan_code, "cluster": tenant.cluster_name,
                        "template_version": tenant.template_version},
                 detail={"resumed_after_crash": True} if resumed else None)


@functools.cache
def _ddl_executor() -> ThreadPoolExecutor:
    """Threads that run a new tenant's DDL while the calling thread writes the catalog."""
    return ThreadPoolExecutor(8, thread_name_prefix="provision-ddl")


def _provision_new_on_cluster(ctx: AppContext, session: Session, actor: Actor, target: Cluster, row: Tenant, *,
                              record_unsafe: Callable[[], None], fault: FaultHook) -> TenantView | None:
    """A new tenant on a cluster of its own (docs/lifecycle.md "Idempotency and retry"):
    the cluster's DDL runs, uncommitted, while the catalog records the tenant (committed: a crash
    from here on is finished by a re-run) and prepares it active (uncommitted); then the cluster
    commits, then the catalog. The same order of commits as one step after the other, with the
    catalog's work done during the DDL's instead of after it. None when the slug already has a
    catalog row (an earlier run to finish, or a conflict): nothing was changed, and the caller
    goes the way of a re-run."""
    slug = row.slug
    with ctx.clusters.ddl_connection(target.url_env) as conn:
        _lock_provisioning(conn, slug)
        conn.execute("BEGIN")
        ddl = _ddl_executor().submit(_run_provision_script, conn, slug, row.template_version, fault)
        try:
            record_unsafe()
            tenant = _insert_new_tenant(session, row)
            if tenant is None:
                session.rollback()
                _rollback_after(ddl, conn)
                return None
            audit.record(session, actor, "tenant.provision.start", tenant_slug=slug,
                         after={"status": Status.PROVISIONING.value, "plan": row.plan_code, "cluster": target.name})
            session.commit()  # recorded before the cluster commits: a crash below is finished by re-running
            fault("catalog_recorded")
            # The row as inserted (sessions keep objects after commit): this run holds the slug's
            # provisioning lock, and the first write below takes the row lock until the end.
            _mark_active(session, actor, tenant, resumed=False)
            created = ddl.result()
        except BaseException:
            _rollback_after(ddl, conn)
            raise
        if not created:  # the role or schema exists already: create what is missing, as a re-run does
            conn.execute("ROLLBACK")
            with conn.transaction():
                _create_objects(conn, slug, tenant.template_version, retry=True)
                fault("schema_created")
        else:
            conn.execute("COMMIT")
        fault("cluster_committed")
        shown = view(tenant)  # as committed below, without reading the row back
        fault("before_commit")
        session.commit()
        return shown


def _lock_provisioning(conn: psycopg.Connection, slug: str) -> None:
    """One run per slug on its cluster, held by this session until the connection goes back."""
    if not advisory_locks.try_lock(conn, advisory_locks.tenant_provision(slug)):
        raise Conflict(f"Tenant {slug!r} is being provisioned by another run right now; "
                       f"check it with `tenants show {slug}` when that run ends.")


def _run_provision_script(conn: psycopg.Connection, slug: str, version: int | None, fault: FaultHook) -> bool:
    """The whole script in the connection's open transaction (on a DDL thread): False when the
    role or schema exists (the transaction is then aborted)."""
    try:
        conn.execute(template.provision_script(slug, version or revisions.FIRST))
    except (psycopg.errors.DuplicateSchema, psycopg.errors.DuplicateObject):
        return False
    except psycopg.errors.InsufficientPrivilege as exc:
        raise _may_not_create(slug, exc) from exc
    fault("schema_created")
    return True


def _rollback_after(ddl: Future[bool], conn: psycopg.Connection) -> None:
    """Wait for the DDL thread to be done with the connection, then undo its open transaction
    (a lost connection has nothing left to undo)."""
    try:
        ddl.result()
    except BaseException:  # noqa: S110 - the caller raises its own error; this one only ends the DDL
        pass
    if not conn.broken and conn.info.transaction_status != pq.TransactionStatus.IDLE:
        conn.execute("ROLLBACK")


def _insert_new_tenant(session: Session, tenant: Tenant) -> Tenant | None:
    """Insert the catalog row unless the slug exists (then None). The unique slug and the plan's
    foreign key are checked here, before any DDL commits; a concurrent request for the same new slug
    waits on the index, then sees the row."""
    values = {c.key: getattr(tenant, c.key) for c in Tenant.__table__.columns if getattr(tenant, c.key) is not None}
    statement = (pg_insert(Tenant).values(**values).on_conflict_do_nothing(index_elements=[Tenant.slug])
                 .returning(Tenant))
    try:
        inserted = session.scalars(statement).first()
    except IntegrityError as exc:
        session.rollback()
        if "plan" in (getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""):
            _require_plan(session, tenant.plan_code)
        raise
    return inserted


def _create_objects(conn: psycopg.Connection, slug: str, version: int | None, retry: bool) -> None:
    try:
        _create_missing_objects(conn, slug, version or revisions.FIRST, retry)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise _may_not_create(slug, exc) from exc


def _may_not_create(slug: str, exc: psycopg.errors.InsufficientPrivilege) -> ConfigError:
    return ConfigError(f"The catalog's database user may not create tenant {slug!r} on this cluster "
                       f"({exc.diag.message_primary}); it needs CREATEROLE and CREATE on the database.")


def _create_missing_objects(conn: psycopg.Connection, slug: str, version: int, retry: bool) -> None:
    if not retry:
        try:
            conn.execute(template.provision_script(slug, version))
            return
        except (psycopg.errors.DuplicateSchema, psycopg.errors.DuplicateObject) as exc:
            raise Conflict(
                f"Schema or role {schema_name(slug)!r} already exists on the cluster but not in the catalog "
                "(drift); the reconcile job reports it. Nothing was changed."
            ) from exc
    # A retry after a crash: create only what is missing. Nearly always nothing exists yet, so the
    # whole script is tried first (one round trip, as a first run), under a savepoint.
    try:
        with conn.transaction():
            conn.execute(template.provision_script(slug, version))
        return
    except (psycopg.errors.DuplicateSchema, psycopg.errors.DuplicateObject):
        pass
    found = inspect_tenant(conn, slug)
    # A role that survived a crash may predate its data-plane login: give it the membership too.
    membership = [tenant_ddl.grant_to_data_plane(slug)]
    if found.complete:
        for part in [tenant_ddl.grant_access(slug), *membership]:
            conn.execute(part)
        return
    if found.schema_exists:
        raise Conflict(f"Schema {schema_name(slug)!r} exists but is incomplete; fix or drop it by hand, "
                       "then run provision again.")
    parts = membership if found.role_exists else [tenant_ddl.create_role(slug)]
    parts += [template.create_schema(schema_name(slug), version), tenant_ddl.grant_access(slug)]
    for part in parts:
        conn.execute(part)


# --- suspend / resume / plan -----------------------------------------------------------------

def suspend(ctx: AppContext, actor: Actor, slug: str, reason: str, *,
            fault: FaultHook = no_fault) -> TenantView:
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_SUSPEND, "tenant.suspend", tenant_slug=slug)
    reason = clean_text(reason, "Reason", REASON_MAX)
    if not reason:
        raise InvalidInput("A reason is required to suspend a tenant.")
    return _change_access(ctx, actor, slug, _SUSPEND, reason=reason, fault=fault)


def resume(ctx: AppContext, actor: Actor, slug: str, reason: str | None = None, *,
           fault: FaultHook = no_fault) -> TenantView:
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_RESUME, "tenant.resume", tenant_slug=slug)
    reason = clean_text(reason, "Reason", REASON_MAX) or None
    return _change_access(ctx, actor, slug, _RESUME, reason=reason, fault=fault)


@dataclass(frozen=True)
class _AccessChange:
    verb: str
    source: Status
    target: Status
    ddl: Callable[[str], Any]
    hook: str  # name in control_plane.revenue.hooks, looked up per call
    fault_step: str
    keeps_reason: bool


_SUSPEND = _AccessChange("suspend", Status.ACTIVE, Status.SUSPENDED, tenant_ddl.revoke_access, "on_suspend",
                         "access_revoked", keeps_reason=True)
_RESUME = _AccessChange("resume", Status.SUSPENDED, Status.ACTIVE, tenant_ddl.grant_access, "on_resume",
                        "access_granted", keeps_reason=False)


def _change_access(ctx: AppContext, actor: Actor, slug: str, change: _AccessChange, *, reason: str | None,
                   fault: FaultHook) -> TenantView:
    """Suspend or resume: the role's privileges on the cluster and the catalog row change together
    (one transaction on the catalog database; cluster first elsewhere, safe to repeat)."""
    action = f"tenant.{change.verb}"
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, slug, lock=True)
        if tenant.status == change.target:
            audit.record(session, actor, action, tenant_slug=slug, outcome="noop", reason=reason,
                         before=snapshot(tenant), after=snapshot(tenant))
            session.commit()
            return view(tenant)
        require_transition(slug, tenant.status, change.target, change.verb)
        moves_ledger.refuse_if_moving(session, slug, change.verb)  # the move decides the tenant's access
        if tenant.status != change.source:
            raise Conflict(f"Cannot {change.verb} tenant {slug!r}: it is {tenant.status}.")
        before = snapshot(tenant)
        with ctx.clusters.for_ddl(session, _cluster_of(session, tenant).url_env) as conn:
            conn.execute(change.ddl(slug))
            fault(change.fault_step)
        now = datetime.now(UTC)
        tenant.status, tenant.updated_at = change.target, now
        tenant.status_reason = reason if change.keeps_reason else None
        getattr(hooks, change.hook)(session, tenant, now)
        audit.record(session, actor, action, tenant_slug=slug, reason=reason, before=before, after=snapshot(tenant))
        session.commit()
        return view(tenant)


def set_plan(ctx: AppContext, actor: Actor, slug: str, plan: str, reason: str | None = None) -> TenantView:
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_CHANGE_PLAN, "tenant.set_plan", tenant_slug=slug)
    plan, reason = clean_text(plan, "Plan", CODE_MAX), clean_text(reason, "Reason", REASON_MAX) or None
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, slug, lock=True)
        _require_plan(session, plan)
        if not Status(tenant.status).can(Action.CHANGE_PLAN):
            raise Conflict(f"Cannot change the plan of tenant {slug!r}: it is {tenant.status}.")
        before = snapshot(tenant)
        if tenant.plan_code == plan:
            audit.record(session, actor, "tenant.set_plan", tenant_slug=slug, outcome="noop", reason=reason,
                         before=before, after=before)
            session.commit()
            return view(tenant)
        old_plan, now = tenant.plan_code, datetime.now(UTC)
        tenant.plan_code, tenant.updated_at = plan, now
        hooks.on_plan_change(session, tenant, old_plan, plan, now)
        audit.record(session, actor, "tenant.set_plan", tenant_slug=slug, reason=reason,
                     before=before, after=snapshot(tenant))
        session.commit()
        return view(tenant)


def update_details(ctx: AppContext, actor: Actor, slug: str, *, name: str | None = None,
                   owner_email: str | None = None, endpoint_url: str | None = None) -> TenantView:
    """Edit descriptive fields; an empty string clears the e-mail or endpoint."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_PROVISION, "tenant.update", tenant_slug=slug)
    endpoint = None if endpoint_url is None else _clean_url(ctx, endpoint_url)  # DNS before any row lock
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, slug, lock=True)
        before = {"name": tenant.name, "owner_email": tenant.owner_email, "endpoint_url": tenant.endpoint_url}
        if name is not None:
            tenant.name = _clean_name(name)
        if owner_email is not None:
            tenant.owner_email = _clean_email(owner_email)
        if endpoint_url is not None:
            tenant.endpoint_url = endpoint
        after = {"name": tenant.name, "owner_email": tenant.owner_email, "endpoint_url": tenant.endpoint_url}
        tenant.updated_at = datetime.now(UTC)
        audit.record(session, actor, "tenant.update", tenant_slug=slug, before=before, after=after,
                     outcome="ok" if before != after else "noop")
        session.commit()
        return view(tenant)


# --- reads -----------------------------------------------------------------------------------

def show(ctx: AppContext, actor: Actor, slug: str) -> TenantView:
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.show", tenant_slug=slug)
    with ctx.session_factory() as session:  # the CLI's read path runs the same query (tenant_reads)
        return tenant_reads.show(session.connection().connection.driver_connection, slug)


def list_tenants(ctx: AppContext, actor: Actor, *, status: str | None = None, plan: str | None = None,
                 cluster: str | None = None, search: str | None = None, limit: int | None = None) -> list[TenantView]:
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.list")
    wanted = tenant_reads.filters(status=status, plan=plan, cluster=cluster, search=search, limit=limit)
    with ctx.session_factory() as session:
        return tenant_reads.list_tenants(session.connection().connection.driver_connection, wanted)


def stream_tenants(ctx: AppContext, actor: Actor, *, status: str | None = None, plan: str | None = None,
                   cluster: str | None = None, search: str | None = None) -> Iterator[TenantView]:
    """list_tenants one at a time (a server-side cursor), for output written as it comes. The
    permission is checked, and the filters, before the first tenant is asked for."""
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.list")
    wanted = tenant_reads.filters(status=status, plan=plan, cluster=cluster, search=search)

    def rows() -> Iterator[TenantView]:
        with ctx.session_factory() as session:
            yield from tenant_reads.stream_tenants(session.connection().connection.driver_connection, wanted)

    return rows()


def tenant_page(ctx: AppContext, actor: Actor, *, page: int, page_size: int, status: str | None = None,
                plan: str | None = None, cluster: str | None = None,
                search: str | None = None) -> tenant_reads.TenantPage:
    """One page of the filtered list and how many tenants match (the Tenants page)."""
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.list")
    wanted = tenant_reads.filters(status=status, plan=plan, cluster=cluster, search=search, limit=page_size)
    with ctx.session_factory() as session:
        return tenant_reads.page(session.connection().connection.driver_connection, wanted, page)


def plan_codes(ctx: AppContext) -> list[str]:
    with ctx.session_factory() as session:
        return list(session.scalars(select(Plan.code).where(Plan.active).order_by(Plan.sort_order, Plan.code)))


def tenant_counts(ctx: AppContext, actor: Actor) -> list[tuple[str, str, int]]:
    """(status, plan, tenants) for every combination that occurs: Overview's headline and plan mix."""
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.list")
    query = (select(Tenant.status, Tenant.plan_code, func.count(Tenant.id))
             .group_by(Tenant.status, Tenant.plan_code).order_by(Tenant.status, Tenant.plan_code))
    with ctx.session_factory() as session:
        return [(s, p, int(n)) for s, p, n in session.execute(query)]


def names_of(ctx: AppContext, actor: Actor, slugs: list[str]) -> dict[str, str]:
    """slug -> tenant name for the slugs a screen shows (one query, however many): health-check
    targets and audit rows name tenants by slug, people know them by name (docs/pages.md)."""
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.list")
    wanted = sorted({s for s in slugs if s})
    if not wanted:
        return {}
    with ctx.session_factory() as session:
        return dict(session.execute(select(Tenant.slug, Tenant.name).where(Tenant.slug.in_(wanted))).all())


def cluster_names(ctx: AppContext) -> list[str]:
    with ctx.session_factory() as session:
        return list(session.scalars(select(Cluster.name).order_by(Cluster.created_at, Cluster.name)))


# --- helpers ---------------------------------------------------------------------------------





def _cluster_of(session: Session, tenant: Tenant) -> Cluster:
    cluster = session.get(Cluster, tenant.cluster_name)
    assert cluster is not None  # foreign key
    return cluster


def _require_plan(session: Session, plan: str) -> None:
    if not plan or session.get(Plan, plan) is None:
        known = ", ".join(session.scalars(select(Plan.code).order_by(Plan.sort_order, Plan.code)))
        raise InvalidInput(f"Unknown plan {plan!r}; choose one of: {known}.")


def _resolve_cluster(session: Session, name: str | None) -> Cluster:
    return lookups.named_cluster(session, name) if name else choose_cluster(session)


def _clean_name(name: str | None) -> str:
    name = clean_text(name, "Tenant name", 200)
    if not name:
        raise InvalidInput("A tenant name is required.")
    return name


def _clean_email(email: str | None) -> str | None:
    email = clean_text(email, "Owner e-mail", 254).lower()
    if not email:
        return None
    if not EMAIL.fullmatch(email):
        raise InvalidInput(f"Invalid owner e-mail {email!r}.")
    return email


def _clean_url(ctx: AppContext, url: str | None) -> str | None:
    """The health sweep requests this URL every minute from inside our network: refuse now, with
    the reason, what the probe would refuse later (docs/monitoring.md "Probe policy")."""
    url = clean_text(url, "Endpoint URL", 2048)
    if not url:
        return None
    try:
        probe_guard.vet(url, ctx.settings.probe_allow_networks)
    except probe_guard.ProbeHostUnresolved as exc:
        raise InvalidInput(f"Invalid endpoint URL: {exc}; check the name (it must resolve from the "
                           "control plane).") from None
    except probe_guard.ProbeTargetRefused as exc:
        raise InvalidInput(f"Invalid endpoint URL: {exc}. Health probes go only to public http:// or "
                           "https:// addresses unless CP_PROBE_ALLOW_NETWORKS allows the network.") from None
    return url

