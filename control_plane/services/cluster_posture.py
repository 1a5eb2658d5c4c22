"""`clusters check`: a cluster's security posture (docs/security.md "Cluster posture").

Each item is ok, warn or fail, with a one-line explanation and, when it is not ok, the exact SQL
an operator runs. `fix` runs what can safely be revoked in one transaction, audited with the
posture before and after; provisioning on a failing cluster is refused unless overridden.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql
from sqlalchemy import select

from control_plane.adapters import cluster_posture as pg
from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.authorization import authorize
from control_plane.db.models import Cluster
from control_plane.domain.text import CODE_MAX, clean_text
from control_plane.errors import ConfigError, NotFound

OK, WARN, FAIL = "ok", "warn", "fail"
_RANK = {OK: 0, WARN: 1, FAIL: 2}
MIN_VERSION = 150000  # FOR TABLES IN SCHEMA publications (online moves); no PUBLIC CREATE on public by default
LOCK_HEADROOM = 1.25  # other sessions hold locks while a dump runs
CACHE_SECONDS = 60.0  # the provisioning gate reads a cluster at most once a minute per process
SHOWN = 10  # names listed per item; the count says how many more


class UnsafeCluster(ConfigError):
    """Provisioning refused: the cluster fails its posture check."""


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    status: str
    explanation: str
    sql: tuple[str, ...] = ()  # what an operator runs (all of it, fixable or not)
    manual: tuple[str, ...] = ()  # the part `--fix` does not run
    fixes: tuple[sql.Composed, ...] = field(default=(), repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "status": self.status, "explanation": self.explanation,
                "sql": list(self.sql), "fixable": bool(self.fixes), "manual_sql": list(self.manual)}


@dataclass(frozen=True)
class Report:
    cluster: str
    database: str
    server_version: str
    items: tuple[Item, ...]

    @property
    def status(self) -> str:
        return max((i.status for i in self.items), key=_RANK.__getitem__, default=OK)

    @property
    def failing(self) -> list[Item]:
        return [i for i in self.items if i.status == FAIL]

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "database": self.database, "server_version": self.server_version,
                "status": self.status, "items": [i.as_dict() for i in self.items]}

    def summary(self) -> dict[str, str]:
        """Item statuses by key: what the audit log keeps as before/after."""
        return {i.key: i.status for i in self.items}


# --- reading -----------------------------------------------------------------------------------

def check(ctx: AppContext, actor: Actor, name: str) -> Report:
    name = _clean(name)
    authorize(ctx, actor, Permission.CLUSTERS_CHECK, "cluster.check", target=name or None)
    cluster = _cluster(ctx, name)
    with ctx.clusters.connect(cluster.url_env) as conn:
        report = evaluate(cluster.name, pg.read(conn), conn)
    _remember(ctx, cluster.url_env, report)
    return report


def check_all(ctx: AppContext, actor: Actor) -> list[tuple[str, Report | None, str | None]]:
    """Every registered cluster: (name, report, None) or (name, None, why it could not be read)."""
    authorize(ctx, actor, Permission.CLUSTERS_CHECK, "cluster.check")
    with ctx.session_factory() as session:
        names = list(session.scalars(select(Cluster.name).order_by(Cluster.name)))
    results: list[tuple[str, Report | None, str | None]] = []
    for name in names:
        try:
            results.append((name, check(ctx, actor, name), None))
        except (ConfigError, NotFound) as exc:
            results.append((name, None, str(exc)))
        except Exception as exc:  # DatabaseUnavailable and the like: one cluster never hides the others
            results.append((name, None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
    return results


def _clean(name: str) -> str:
    return clean_text(name, "Cluster name", CODE_MAX)


def _cluster(ctx: AppContext, name: str) -> Cluster:
    with ctx.session_factory() as session:
        cluster = session.get(Cluster, name)
        if cluster is None:
            known = ", ".join(session.scalars(select(Cluster.name).order_by(Cluster.name)))
            raise NotFound(f"Unknown cluster {name!r}; registered clusters: {known or 'none'}.")
        session.expunge(cluster)
        return cluster


# --- evaluating --------------------------------------------------------------------------------

def evaluate(cluster: str, raw: pg.RawPosture, conn: Any = None) -> Report:
    def text(statement: sql.Composable) -> str:
        return pg.text_of(statement, conn)

    items = (_public_create(raw, text), _temporary(raw, text), _tenant_create(raw, text),
             _statement_stats(raw, text), _wal_level(raw), _max_locks(raw), _version(raw))
    return Report(cluster=cluster, database=raw.database, server_version=raw.server_version, items=items)


def _names(values: list[str]) -> str:
    shown = ", ".join(values[:SHOWN])
    return shown + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")


def _keep_catalog_temp(raw: pg.RawPosture) -> list[sql.Composed]:
    """Our own imports use temp tables: a catalog user that is neither superuser nor granted
    TEMPORARY otherwise gets it explicitly before PUBLIC loses it."""
    if raw.current_user_super or raw.current_user_keeps_temp:
        return []
    return [pg.grant_temporary(raw.database, raw.current_user)]


def _public_create(raw: pg.RawPosture, text) -> Item:
    title = "PUBLIC may create objects"
    on_db = "CREATE" in raw.public_database_privileges
    if not raw.public_create_schemas and not on_db:
        return Item("public_create", title, OK, "No schema and not the database grants CREATE to PUBLIC.")
    fixes = [pg.revoke_schema_create(s) for s in raw.public_create_schemas]
    if on_db:
        fixes.append(pg.revoke_database(["CREATE"], raw.database))
    where = ([f"schema(s) {_names(raw.public_create_schemas)}"] if raw.public_create_schemas else []) + (
        [f"database {raw.database}"] if on_db else [])
    return Item("public_create", title, FAIL,
                f"Every role, tenants included, may create objects in {' and '.join(where)}: a function or "
                "operator planted there can run with the privileges of whoever resolves its name "
                "(CVE-2018-1058).", tuple(text(f) for f in fixes), (), tuple(fixes))


def _temporary(raw: pg.RawPosture, text) -> Item:
    title = "TEMPORARY for PUBLIC or tenant roles"
    public = "TEMPORARY" in raw.public_database_privileges
    grants = [g for g in raw.reachable_database_grants if g["privilege"] == "TEMPORARY"]
    if not public and not grants:
        return Item("temporary", title, OK, "Neither PUBLIC nor any tenant role may create temporary objects.")
    fixes: list[sql.Composed] = []
    who = []
    if public:
        fixes += _keep_catalog_temp(raw)
        fixes.append(pg.revoke_database(["TEMPORARY"], raw.database))
        who.append("PUBLIC")
    direct = sorted(g["role"] for g in grants if g["direct"])
    if direct:
        fixes.append(pg.revoke_database(["TEMPORARY"], raw.database, direct))
        who.append(f"tenant role(s) {_names(direct)}")
    groups = sorted(g["role"] for g in grants if not g["direct"])
    manual = [pg.revoke_database(["TEMPORARY"], raw.database, [g]) for g in groups]
    if groups:
        who.append(f"role(s) {_names(groups)} that tenant roles are members of")
    return Item("temporary", title, FAIL,
                f"{'; '.join(who)} may create temporary objects in {raw.database}: pg_temp is searched first, so "
                "one tenant's temp table can capture another's writes on a pooled connection.",
                tuple(text(f) for f in [*fixes, *manual]), tuple(text(m) for m in manual), tuple(fixes))


def _tenant_create(raw: pg.RawPosture, text) -> Item:
    title = "Tenant roles with CREATE"
    on_db = [g for g in raw.reachable_database_grants if g["privilege"] == "CREATE"]
    on_schemas = raw.reachable_schema_create
    if not on_db and not on_schemas:
        return Item("tenant_create", title, OK, "No tenant role may create schemas or objects outside its template.")
    fixes: list[sql.Composed] = []
    manual: list[sql.Composed] = []
    direct_db = sorted(g["role"] for g in on_db if g["direct"])
    if direct_db:
        fixes.append(pg.revoke_database(["CREATE"], raw.database, direct_db))
    manual += [pg.revoke_database(["CREATE"], raw.database, [g["role"]]) for g in on_db if not g["direct"]]
    by_schema: dict[str, list[str]] = {}
    for g in on_schemas:
        if g["owner"]:
            manual.append(pg.alter_schema_owner(g["schema"], raw.current_user))
        elif g["direct"]:
            by_schema.setdefault(g["schema"], []).append(g["role"])
        else:
            manual.append(pg.revoke_schema_create(g["schema"], [g["role"]]))
    fixes += [pg.revoke_schema_create(schema, sorted(roles)) for schema, roles in sorted(by_schema.items())]
    pairs = sorted({f"{g['role']} on database {raw.database}" for g in on_db}
                   | {f"{g['role']} on schema {g['schema']}" + (" (owner)" if g["owner"] else "") for g in on_schemas})
    return Item("tenant_create", title, FAIL,
                f"Tenant-reachable roles may create objects: {_names(pairs)}. A tenant must create nothing outside "
                "its template.", tuple(text(f) for f in [*fixes, *manual]), tuple(text(m) for m in manual),
                tuple(fixes))


def _statement_stats(raw: pg.RawPosture, text) -> Item:
    title = "Who reads pg_stat_statements"
    readers = [r for r in raw.stats_readers if not r["superuser"]]
    tenants = [r for r in readers if r["reachable"]]
    others = sorted({r["role"] for r in readers if not r["reachable"]})
    installed = "installed" if raw.stat_statements_installed else "not installed"
    if tenants:
        fixes = tuple(pg.revoke_membership(r["via"], r["role"]) for r in tenants)
        return Item("statement_stats", title, FAIL,
                    f"Tenant-reachable role(s) {_names(sorted({r['role'] for r in tenants}))} are members of "
                    f"pg_read_all_stats: they read every session's statements (pg_stat_statements {installed}, "
                    "pg_stat_activity).", tuple(text(f) for f in fixes), (), fixes)
    if others and raw.stat_statements_installed:
        manual = tuple(text(pg.revoke_membership(r["via"], r["role"])) for r in readers)
        return Item("statement_stats", title, WARN,
                    f"pg_stat_statements is installed and non-superuser role(s) {_names(others)} are members of "
                    "pg_read_all_stats: they read every statement's text. Keep only monitoring roles there "
                    "(revoke the others as below).", manual, manual)
    if others:
        return Item("statement_stats", title, OK,
                    f"pg_stat_statements is not installed; {_names(others)} (not tenant-reachable) may read "
                    "every session's activity through pg_read_all_stats.")
    return Item("statement_stats", title, OK,
                f"pg_stat_statements is {installed}; only superusers read every session's statements.")


def _wal_level(raw: pg.RawPosture) -> Item:
    title = "wal_level"
    if raw.wal_level == "logical":
        return Item("wal_level", title, OK, "wal_level is logical: tenants can be moved online.")
    statements = ("ALTER SYSTEM SET wal_level = 'logical'; -- then restart the server (Aurora: set "
                  "rds.logical_replication = 1 in the cluster parameter group and reboot)",)
    return Item("wal_level", title, WARN,
                f"wal_level is {raw.wal_level}: tenant moves from this cluster are offline only (writes blocked for "
                "the whole copy).", statements, statements)


def locks_needed(raw: pg.RawPosture) -> int:
    """max_locks_per_transaction a whole-database pg_dump (or a single-transaction restore) needs:
    the shared lock table holds max_locks_per_transaction × (max_connections +
    max_prepared_transactions) locks, and a dump holds one per table and sequence it reads (a
    restore one per index too), with room for the other sessions. Rounded up to a multiple of 64."""
    slots = max(raw.max_connections + raw.max_prepared_transactions, 1)
    needed = math.ceil(raw.dumped_relations * LOCK_HEADROOM / slots)
    return max(64, math.ceil(needed / 64) * 64)


def _max_locks(raw: pg.RawPosture) -> Item:
    title = "max_locks_per_transaction"
    needed = locks_needed(raw)
    total = raw.max_locks_per_transaction * (raw.max_connections + raw.max_prepared_transactions)
    facts = (f"{raw.dumped_relations:,} tables, sequences and indexes to dump; the lock table holds "
             f"{raw.max_locks_per_transaction} × ({raw.max_connections} + {raw.max_prepared_transactions}) = "
             f"{total:,} locks")
    if raw.max_locks_per_transaction >= needed:
        return Item("max_locks", title, OK, f"{facts}: enough for a whole-database pg_dump.")
    statements = (f"ALTER SYSTEM SET max_locks_per_transaction = {needed}; -- then restart the server (Aurora: "
                  "the cluster parameter group)",)
    return Item("max_locks", title, WARN,
                f"{facts}: a whole-database pg_dump would fail with \"out of shared memory\"; set it to at least "
                f"{needed}.", statements, statements)


def _version(raw: pg.RawPosture) -> Item:
    title = "Server version"
    if raw.server_version_num >= MIN_VERSION:
        return Item("version", title, OK, f"PostgreSQL {raw.server_version}.")
    return Item("version", title, WARN,
                f"PostgreSQL {raw.server_version}: below 15, moves are offline only (no FOR TABLES IN SCHEMA "
                "publications) and new databases let PUBLIC create in schema public; plan an upgrade "
                "(pg_upgrade keeps the old grants: run this check again after it).")


# --- fixing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FixResult:
    before: Report
    after: Report
    statements: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.after.cluster, "ran": list(self.statements), "before": self.before.summary(),
                **self.after.as_dict()}


def fix(ctx: AppContext, actor: Actor, name: str) -> FixResult:
    """Revoke what can be revoked, in one transaction on the cluster, audited with the posture
    before and after; what needs an operator stays in the report with its SQL."""
    name = _clean(name)
    authorize(ctx, actor, Permission.CLUSTERS_MANAGE, "cluster.posture.fix", target=name or None)
    cluster = _cluster(ctx, name)
    with ctx.session_factory() as session:
        with ctx.clusters.for_ddl(session, cluster.url_env) as conn:
            before = evaluate(cluster.name, pg.read(conn), conn)
            fixes = [f for item in before.items for f in item.fixes]
            ran = tuple(pg.text_of(f, conn) for f in fixes)
            if fixes:
                conn.execute(pg.PIN_SEARCH_PATH)  # this transaction only
                for statement in fixes:
                    conn.execute(statement)
            after = evaluate(cluster.name, pg.read(conn), conn)
            audit.record(session, actor, "cluster.posture.fix", target=cluster.name,
                         outcome="ok" if fixes else "noop", before=before.summary(), after=after.summary(),
                         detail={"statements": list(ran), "database": after.database,
                                 "still_failing": [i.key for i in after.failing]})
        session.commit()
    forget(cluster.url_env, ctx)
    _remember(ctx, cluster.url_env, after)
    return FixResult(before=before, after=after, statements=ran)


# --- the provisioning gate ---------------------------------------------------------------------

_cache: dict[str, tuple[float, Report]] = {}
_cache_lock = threading.Lock()


def _key(ctx: AppContext, url_env: str | None) -> str:
    return ctx.clusters.url_for(url_env)


def _remember(ctx: AppContext, url_env: str | None, report: Report) -> None:
    with _cache_lock:
        _cache[_key(ctx, url_env)] = (time.monotonic(), report)


def forget(url_env: str | None = None, ctx: AppContext | None = None) -> None:
    """Drop the cached posture of one cluster (or of every cluster, without arguments)."""
    with _cache_lock:
        if ctx is None:
            _cache.clear()
        else:
            _cache.pop(_key(ctx, url_env), None)


def cached(ctx: AppContext, cluster: Cluster) -> Report:
    """The cluster's posture, read at most once per CACHE_SECONDS per process (one query)."""
    key = _key(ctx, cluster.url_env)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    with ctx.clusters.connect(cluster.url_env) as conn:
        report = evaluate(cluster.name, pg.read(conn), conn)
    _remember(ctx, cluster.url_env, report)
    return report


def require_safe(ctx: AppContext, cluster: Cluster, *, allow_unsafe: bool = False) -> list[str]:
    """Refuse (UnsafeCluster, exit 6) to put a tenant on a cluster that fails its check, unless
    `allow_unsafe`; then the failing items' keys are returned for the audit entry."""
    report = cached(ctx, cluster)
    failing = report.failing
    if not failing:
        return []
    if allow_unsafe:
        return [i.key for i in failing]
    raise UnsafeCluster(
        f"Cluster {cluster.name!r} fails its posture check ({'; '.join(i.title for i in failing)}): run "
        f"`python -m control_plane clusters check {cluster.name} --fix` (or the SQL it names), or provision "
        "anyway with --allow-unsafe-cluster.")


# --- the daily job -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Sweep:
    ok: list[str]
    warn: list[str]
    failing: dict[str, list[str]]  # cluster -> failing item keys
    unreadable: dict[str, str]  # cluster -> why
    alerted: int
    published: int

    def summary(self) -> str:
        total = len(self.ok) + len(self.warn) + len(self.failing) + len(self.unreadable)
        text = (f"{total} cluster(s) checked: {len(self.failing)} failing, {len(self.warn)} with warnings, "
                f"{len(self.ok)} ok, {len(self.unreadable)} unreadable")
        if self.failing:
            text += "; failing: " + ", ".join(f"{c} ({', '.join(keys)})" for c, keys in sorted(self.failing.items()))
        if self.unreadable:
            text += "; unreadable: " + ", ".join(sorted(self.unreadable))
        if self.alerted:
            text += f"; {self.alerted} alert(s), {self.published} published"
        return text


def posture_alerts(ctx: AppContext, now: Any) -> Sweep:
    """Check every cluster as the job's operator; one alert per failing or unreadable cluster."""
    from control_plane.auth.permissions import system_actor
    from control_plane.core import alerts

    ok: list[str] = []
    warn: list[str] = []
    failing: dict[str, list[str]] = {}
    unreadable: dict[str, str] = {}
    new: list[alerts.NewAlert] = []
    for name, report, problem in check_all(ctx, system_actor("job:cluster_posture")):
        if report is None:
            unreadable[name] = problem or "unknown error"
            new.append(alerts.NewAlert("cluster_posture", "warning",
                                       f"Cluster {name}: posture check could not read it: {problem}", target=name))
            continue
        if report.failing:
            failing[name] = [i.key for i in report.failing]
            lines = [f"Cluster {name} (database {report.database}) fails its posture check; run "
                     f"`python -m control_plane clusters check {name} --fix` or:"]
            for item in report.failing:
                lines.append(f"- {item.title}: {item.explanation}")
                lines += [f"    {s}" for s in item.sql]
            new.append(alerts.NewAlert("cluster_posture", "critical", "\n".join(lines), target=name))
        elif report.status == WARN:
            warn.append(name)
        else:
            ok.append(name)
    published = 0
    if new:
        with ctx.session_factory() as session:
            rows = alerts.add(session, new)
            for row in rows:
                row.at = now
            ids = [r.id for r in rows]
            session.commit()
        published = alerts.publish(ctx, ids).count
    return Sweep(ok, warn, failing, unreadable, len(new), published)
