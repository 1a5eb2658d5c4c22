"""One tenant from its version to another, every revision between in one transaction
(docs/migrations.md "Per tenant"): all or nothing, so a revision that fails leaves the tenant
exactly as it was (version and structure), never half-way.

Inside the transaction: the tenant's advisory lock, `SET LOCAL lock_timeout` and
`statement_timeout`, the version re-read under that lock (so a revision is never applied twice,
whoever else migrates or restores the tenant), the revisions, the schema comment, the catalog's
version and one audit entry per revision. Where the tenant lives on the catalog database all of
that is one transaction in two round trips (fleet/scripts.py: BEGIN … read, then change … COMMIT);
on another cluster the cluster commits first, then the catalog follows (both steps safe to repeat:
the schema comment is the cluster's truth, and revisions the cluster applied without the catalog
following get their audit entries then). A lock timeout is retried with jittered backoff, then the
tenant is recorded as failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from sqlalchemy.exc import DBAPIError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from control_plane.adapters import tenant_ddl
from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.domain.lifecycle import Status
from control_plane.domain.slugs import schema_name
from control_plane.errors import ControlPlaneError
from control_plane.fleet import queries, scripts
from control_plane.fleet.states import ResultStatus
from control_plane.tenant_schema.queries import SCHEMA_VERSION_COMMENT
from control_plane.tenant_schema.revisions import DEFAULT, Catalog, Kind, Revision

RetryHook = Callable[[str, int], None]  # (slug, failed attempt number): tests release a lock here
# The catalog connection a tenant's steps use: autocommit (the scripts say BEGIN and COMMIT), kept
# open by the caller (a run keeps one per worker thread).
CatalogConnection = Callable[[], psycopg.Connection]


@dataclass(frozen=True)
class Limits:
    lock_timeout_ms: int = 2000
    statement_timeout_ms: int = 60_000
    tries: int = 3  # per revision, for lock timeouts only
    backoff_max_s: float = 2.0
    allow_contract: bool = False


@dataclass(frozen=True)
class Tenant:
    """A tenant as the planner saw it: where it lives, and the version it was at when known."""

    slug: str
    cluster: str
    url_env: str | None  # None: the catalog database
    version: int | None = None  # a belief, checked under the tenant's lock before anything is done


@dataclass
class Outcome:
    slug: str
    status: str  # applied | failed | skipped
    from_version: int | None = None
    # The version the tenant is at afterwards: the goal once applied; the version read under the
    # lock when it failed (nothing was changed); None when it could not even be read.
    to_version: int | None = None
    attempts: int = 0
    duration_ms: int = 0
    error: str | None = None
    steps: list[str] = field(default_factory=list)


class _Skip(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def _lock_timeout(exc: BaseException) -> bool:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return isinstance(orig, psycopg.errors.LockNotAvailable)


def _no_retry_hook(slug: str, attempt: int) -> None:
    return None


def migrate(ctx: AppContext, actor: Actor, tenant: Tenant, goal: int, *, catalog: Catalog = DEFAULT,
            limits: Limits = Limits(), run_id: int | None = None, on_retry: RetryHook = _no_retry_hook,
            connection: CatalogConnection | None = None) -> Outcome:
    """Take `tenant` to version `goal` (up or down). Never raises for a database error of the
    tenant's own (recorded in the outcome); a lost catalog or a bug propagates. `connection`
    gives the catalog connection to work on (without it, one is opened for this call)."""
    catalog.check(goal)
    with ExitStack() as stack:
        if connection is None:
            own = stack.enter_context(ctx.clusters.connect_catalog(autocommit=True))

            def connection() -> psycopg.Connection:
                return own
        return _migrate(_Job(ctx, actor, tenant, goal, catalog, limits, run_id,
                             Outcome(tenant.slug, ResultStatus.APPLIED), connection), on_retry)


def _migrate(job: _Job, on_retry: RetryHook) -> Outcome:
    tenant, limits, outcome = job.tenant, job.limits, job.outcome
    started = time.monotonic()

    def note_retry(state: RetryCallState) -> None:
        on_retry(tenant.slug, state.attempt_number)

    try:
        for attempt in Retrying(stop=stop_after_attempt(limits.tries), reraise=True,
                                wait=wait_random_exponential(multiplier=0.05, max=limits.backoff_max_s),
                                retry=retry_if_exception(_lock_timeout), before_sleep=note_retry):
            with attempt:
                outcome.attempts += 1
                job.one_step()
        if not outcome.steps:
            outcome.attempts -= 1  # the read that found nothing left to do is no try
    except _Skip as skip:
        outcome.status, outcome.error = ResultStatus.SKIPPED, f"tenant is {skip.status}: not migrated"
    except (psycopg.Error, DBAPIError, ControlPlaneError) as exc:
        outcome.status, outcome.error = ResultStatus.FAILED, _describe(exc, limits)
        outcome.to_version = job.current  # all or nothing: it is where it was read (None: never read)
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


def _describe(exc: BaseException, limits: Limits) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if isinstance(orig, psycopg.errors.LockNotAvailable):
        return (f"lock timeout ({limits.lock_timeout_ms} ms) {limits.tries} times: {text}; a long transaction holds "
                "the tenant's tables; run again when it has ended")
    if isinstance(orig, psycopg.errors.QueryCanceled):
        return f"statement timeout ({limits.statement_timeout_ms} ms): {text}"
    return f"{type(orig).__name__}: {text}"[:1000]


@dataclass(frozen=True)
class _Step:
    revision: Revision
    forward: bool
    before: int
    after: int

    @property
    def label(self) -> str:
        return f"{'+' if self.forward else '-'}{self.revision.version}"


@dataclass
class _Job:
    ctx: AppContext
    actor: Actor
    tenant: Tenant
    goal: int
    catalog: Catalog
    limits: Limits
    run_id: int | None
    outcome: Outcome
    connection: CatalogConnection
    # (status, version) the tenant is believed to be at: the next revision is sent with the check
    # of that belief (one round trip); a wrong belief costs the round trip and is then read.
    believed: tuple[str, int] | None = None
    current: int | None = None  # the version last read under the tenant's lock

    def __post_init__(self) -> None:
        if self.tenant.version is not None:
            self.believed = (Status.ACTIVE, self.tenant.version)

    def plan(self, current: int) -> list[_Step]:
        """Every revision from `current` to the goal, in the order they run (empty: nothing to do)."""
        steps: list[_Step] = []
        while current != self.goal:
            forward = self.goal > current
            revision = self.catalog.get(current + 1 if forward else current)
            if revision.kind == Kind.CONTRACT and not self.limits.allow_contract:
                raise ControlPlaneError(f"revision {revision.version} ({revision.name}) is a contract revision; "
                                        "refused without --allow-contract")
            if not forward and revision.reverse is None:
                raise ControlPlaneError(f"revision {revision.version} ({revision.name}) has no reverse step")
            after = current + 1 if forward else current - 1
            steps.append(_Step(revision, forward, current, after))
            current = after
        return steps

    def steps_sql(self, status: str, steps: list[_Step]) -> sql.Composed:
        """The revisions, the grants their new tables need, the schema comment: one script."""
        slug, schema = self.tenant.slug, schema_name(self.tenant.slug)
        parts: list[sql.Composable] = []
        for step in steps:
            ddl = step.revision.forward if step.forward else step.revision.reverse
            assert ddl is not None
            parts += [ddl(schema), sql.SQL("; ")]
            if step.forward and step.revision.new_tables:
                # New tables start with no grants: the tenant role gets them only while it has access.
                parts += [tenant_ddl.grant_access(slug) if status == Status.ACTIVE else tenant_ddl.revoke_access(slug),
                          sql.SQL("; ")]
        return sql.Composed([*parts, tenant_ddl.comment_schema(schema, steps[-1].after)])

    def audit(self, step: _Step, *, late: bool = False) -> dict:
        detail = {"run": self.run_id, "revision": step.revision.version, "name": step.revision.name,
                  "kind": step.revision.kind.value}
        if late:  # applied by a process that died between the cluster's commit and the catalog's
            detail["recorded_late"] = True
        return audit.entry(self.actor, "tenant.migrate" if step.forward else "tenant.migrate.reverse",
                           tenant_slug=self.tenant.slug, target=self.tenant.cluster,
                           before={"template_version": step.before}, after={"template_version": step.after},
                           detail=detail)

    def one_step(self) -> None:
        """Every revision to the goal in one transaction (or nothing, when the tenant is there)."""
        if self.ctx.clusters.shares_catalog(self.tenant.url_env):
            self._on_catalog()
        else:
            self._elsewhere()

    def _on_catalog(self) -> None:
        if self.believed is not None and self.believed[1] != self.goal and self._as_believed():
            return
        self._read_then_change()

    def _as_believed(self) -> bool:
        """The revisions sent with the check of the believed version: True when they committed;
        False when the belief was wrong (nothing was done; the caller reads the tenant instead)."""
        assert self.believed is not None
        status, current = self.believed
        self.believed = None
        try:
            steps = self.plan(current)
        except ControlPlaneError:
            return False  # decided on what the tenant really is, once read
        conn = self.connection()
        try:
            with _rolled_back_unless_committed(conn):
                conn.execute(sql.Composed([scripts.expect_tenant(
                    self.tenant.slug, status, current, self.limits.lock_timeout_ms,
                    self.limits.statement_timeout_ms), self._change(status, steps)]))
        except psycopg.Error as exc:
            if exc.sqlstate != queries.NOT_AS_EXPECTED:
                self.believed = (status, current)  # a lock timeout is retried as it was
                if not isinstance(exc, (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)):
                    self._seen(current)  # only a wait can fail before the check: the tenant was as believed
                raise
            return False
        self._seen(current)
        self._done(steps, status)
        return True

    def _read_then_change(self) -> None:
        conn = self.connection()
        with _rolled_back_unless_committed(conn):
            cur = conn.execute(scripts.open_tenant(self.tenant.slug, self.limits.lock_timeout_ms,
                                                   self.limits.statement_timeout_ms))
            while cur.nextset():  # several statements in one round trip: the row is the last result
                pass
            row = cur.fetchone()
            if row is None or row[0] not in queries.MIGRATABLE:
                raise _Skip(row[0] if row else "gone")
            status, current = row[0], row[1] or 1
            self._seen(current)
            if current == self.goal:
                self.outcome.to_version = current
                return
            steps = self.plan(current)
            conn.execute(self._change(status, steps))
        self._done(steps, status)

    def _change(self, status: str, steps: list[_Step]) -> sql.Composed:
        """DDL, schema comment, catalog version, audit entries and COMMIT: one round trip."""
        return scripts.finish(sql.Composed([self.steps_sql(status, steps),
                                            queries.set_version(self.tenant.slug, steps[-1].after)]),
                              [self.audit(step) for step in steps])

    def _done(self, steps: list[_Step], status: str) -> None:
        self.outcome.steps += [step.label for step in steps]
        self.outcome.to_version = steps[-1].after
        self.believed = (status, steps[-1].after)

    def _elsewhere(self) -> None:
        catalog = self.connection()
        row = catalog.execute(queries.CATALOG_TENANT, (self.tenant.slug,)).fetchone()
        if row is None or row[0] not in queries.MIGRATABLE:
            raise _Skip(row[0] if row else "gone")
        recorded = row[1] or 1  # what the catalog believes
        steps: list[_Step] = []
        schema = schema_name(self.tenant.slug)
        with self.ctx.clusters.connect(self.tenant.url_env) as conn, conn.transaction():
            conn.execute(queries.set_timeouts(self.limits.lock_timeout_ms, self.limits.statement_timeout_ms))
            conn.execute(queries.tenant_lock(self.tenant.slug))
            found = conn.execute(SCHEMA_VERSION_COMMENT, (schema,)).fetchone()
            current = tenant_ddl.comment_version(found[0] if found else None)
            if current is None:
                raise ControlPlaneError(f"schema {schema} has no template version comment (missing or changed "
                                        "by hand); see `tenants verify-schemas`")
            self._seen(current)
            if current != self.goal:
                steps = self.plan(current)
                conn.execute(self.steps_sql(row[0], steps))
        # The cluster has committed; the catalog follows (repeating this is harmless). Revisions the
        # cluster holds that the catalog never recorded (a process died in between) get their
        # audit entries now.
        entries = [self.audit(step, late=True) for step in self.unrecorded(recorded, current)]
        entries += [self.audit(step) for step in steps]
        version = steps[-1].after if steps else current
        with _rolled_back_unless_committed(catalog):
            catalog.execute(scripts.catalog_follows(self.tenant.slug, version, entries))
        if steps:
            self.outcome.steps += [step.label for step in steps]
        self.outcome.to_version = version

    def unrecorded(self, recorded: int, current: int) -> list[_Step]:
        """The revisions that took the schema from the catalog's version to the cluster's."""
        if recorded == current or not (1 <= recorded <= self.catalog.latest and 1 <= current <= self.catalog.latest):
            return []
        forward = current > recorded
        return [_Step(self.catalog.get(v + 1 if forward else v), forward, v, v + 1 if forward else v - 1)
                for v in (range(recorded, current) if forward else range(recorded, current, -1))]

    def _seen(self, current: int) -> None:
        self.current = current
        if self.outcome.from_version is None:
            self.outcome.from_version = current


@contextmanager
def _rolled_back_unless_committed(conn: psycopg.Connection) -> Iterator[None]:
    """The scripts open and commit the transaction themselves: whatever leaves it open (an error, a
    tenant with nothing to do) is rolled back here, so the connection is clean for the next tenant.
    A connection that cannot even roll back is closed (its owner opens another)."""
    try:
        yield
    finally:
        if not conn.closed and conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            try:
                conn.execute(scripts.ROLLBACK)
            except psycopg.Error:
                conn.close()
