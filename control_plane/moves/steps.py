"""What each step of a move does on the clusters. Every function is safe to run again after a
crash at any point in it: it looks at what exists before it creates or drops anything."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from control_plane.adapters import tenant_ddl
from control_plane.adapters.clusters import ClusterConnections
from control_plane.domain.slugs import role_name, schema_name
from control_plane.errors import Conflict, ControlPlaneError
from control_plane.moves import queries
from control_plane.tenant_schema import template

log = logging.getLogger(__name__)

class MoveAborted(ControlPlaneError):
    """A cancel was asked for while the move waited."""


class VerificationFailed(ControlPlaneError):
    exit_code = 4


@dataclass(frozen=True)
class Ends:
    """The two clusters of a move: names for messages, url_env for connections."""

    clusters: ClusterConnections
    slug: str
    move_id: int
    source_env: str | None
    target_env: str | None
    source_name: str
    target_name: str

    @property
    def schema(self) -> str:
        return schema_name(self.slug)

    def source(self, **kwargs):
        return self.clusters.connect(self.source_env, **kwargs)

    def target(self, **kwargs):
        return self.clusters.connect(self.target_env, **kwargs)


def source_version(ends: Ends) -> int | None:
    with ends.source(autocommit=True) as conn:
        row = conn.execute(queries.SCHEMA_EXISTS, (ends.schema,)).fetchone()
    return tenant_ddl.comment_version(row[0]) if row else None


def prepare_target(ends: Ends, version: int) -> None:
    """Role (if the server lacks it) and the schema at the tenant's version, without any access
    for the tenant yet. A schema found there is adopted only if it is ours: same version, empty."""
    schema = ends.schema
    with ends.target() as conn, conn.transaction():
        found = _existing_target(conn, schema, version)
        if found is not None:
            if found:
                raise Conflict(f"Schema {schema} already exists on cluster {ends.target_name} ({found}); it is not "
                               "a leftover of this move. Nothing was changed; the reconcile job reports it.")
            return
        if conn.execute(queries.ROLE_EXISTS, (role_name(ends.slug),)).fetchone():
            conn.execute(tenant_ddl.grant_to_data_plane(ends.slug))
        else:
            conn.execute(tenant_ddl.create_role(ends.slug))
        conn.execute(template.create_schema(schema, version))


def _existing_target(conn: psycopg.Connection, schema: str, version: int) -> str | None:
    """None: no such schema. "": one this move can take (same version, no rows). Otherwise what
    makes it somebody else's."""
    row = conn.execute(queries.SCHEMA_EXISTS, (schema,)).fetchone()
    if row is None:
        return None
    found = tenant_ddl.comment_version(row[0])
    if found != version:
        return f"at template version {found}"
    filled = [t for t in tenant_ddl.schema_tables(conn, schema) if conn.execute(
        sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier(schema, t))).fetchone()[0]]
    return f"with rows in {', '.join(filled)}" if filled else ""


def target_is_leftover(ends: Ends, version: int) -> bool:
    """A crash between preparing the target and recording it: is the schema there ours to drop?"""
    with ends.target(autocommit=True) as conn:
        return _existing_target(conn, ends.schema, version) == ""


def publish(ends: Ends) -> None:
    """The move's replication role, the publication of the tenant's schema and the slot the
    subscription will read."""
    with ends.source(autocommit=True) as conn:
        with conn.transaction():
            _ensure_move_role(conn, ends)
        if not conn.execute(queries.PUBLICATION_EXISTS, (queries.publication_name(ends.move_id),)).fetchone():
            conn.execute(queries.create_publication(ends.move_id, ends.schema))
        if not conn.execute(queries.SLOT, (queries.publication_name(ends.move_id),)).fetchone():
            conn.execute(queries.create_slot(ends.move_id))


def subscribe(ends: Ends) -> None:
    """The subscription on the target, logging in to the source as the move's role with a new
    random password. Run again (a crash inside this step, or credentials to repair), it rotates
    that password: set on the source, then given to the subscription that exists already. The
    password is kept nowhere but in the source's verifier and the target's pg_subscription."""
    password = secrets.token_urlsafe(32)
    with ends.source() as conn, conn.transaction():
        _ensure_move_role(conn, ends)
        method = conn.execute("SELECT pg_catalog.current_setting('password_encryption')").fetchone()[0]
        role = queries.move_role(ends.move_id)
        verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), method.encode()).decode()
        quietly(conn, f"source cluster {ends.source_name}")
        conn.execute(queries.set_password(ends.move_id, verifier))
    conninfo = ends.clusters.conninfo_as(ends.source_env, role, password)
    with ends.target() as conn, conn.transaction():
        exists = conn.execute(queries.SUBSCRIPTION_EXISTS, (queries.publication_name(ends.move_id),)).fetchone()
        quietly(conn, f"target cluster {ends.target_name}")
        if exists:
            conn.execute(queries.alter_subscription_connection(ends.move_id, conninfo))
        else:
            conn.execute(queries.create_subscription(ends.move_id, conninfo))


def repair_credentials(ends: Ends) -> bool:
    """A resumed move whose role is gone from the source (dropped by hand, or a server restored):
    make it again and give the subscription a new password. True when it had to."""
    with ends.source(autocommit=True) as conn:
        if conn.execute(queries.ROLE_EXISTS, (queries.move_role(ends.move_id),)).fetchone():
            return False
    subscribe(ends)
    return True


def quietly(conn: psycopg.Connection, where: str) -> list[str]:
    """For the rest of `conn`'s open transaction: nothing it runs is written to the server's log,
    tracked by pg_stat_statements (when loaded) or shown in pg_stat_activity (queries.QUIET_SETTINGS).
    Run before, and apart from, a statement that carries a password. Returns the settings set.
    Fails closed: without the right to set them, no password is sent."""
    names = [n for (n,) in conn.execute(queries.SETTINGS_PRESENT, (list(queries.QUIET_SETTINGS),))]
    try:
        conn.execute(queries.SET_LOCAL, (names, [queries.QUIET_SETTINGS[n] for n in names]))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise ControlPlaneError(
            f"The move's credentials cannot be kept out of the logs of {where}: the control plane's database "
            f"user may not set {', '.join(queries.CORE_QUIET_SETTINGS)} ({exc.diag.message_primary}). Make it a "
            "superuser there (rds_superuser on Aurora) or GRANT SET ON PARAMETER each of them to it, then run "
            "the move again; no password was sent.") from None
    return names


def _ensure_move_role(conn: psycopg.Connection, ends: Ends) -> None:
    """Inside `conn`'s transaction on the source: the move's role, LOGIN and replication only,
    with USAGE on the tenant's schema and SELECT on each of its tables (what the initial copy
    reads) and nothing else: a role of that name found there loses every other right first."""
    move_id, role = ends.move_id, queries.move_role(ends.move_id)
    found = conn.execute(queries.MOVE_ROLE, (role,)).fetchone()
    if found is None:
        conn.execute(queries.create_move_role(move_id))
        superuser, rds_replication = conn.execute(queries.REPLICATION_GRANT).fetchone()
        conn.execute(queries.grant_replication(move_id, rds_replication and not superuser))
    else:
        if any(found):
            raise Conflict(f"Role {role} on {ends.source_name} has rights a move's role must not have "
                           "(SUPERUSER, CREATEROLE, CREATEDB or BYPASSRLS); it is not this move's. Drop it, then "
                           "run the move again.")
        conn.execute(queries.revoke_move_role(move_id))
    database = conn.execute(queries.CURRENT_DATABASE).fetchone()[0]
    conn.execute(queries.grant_move_role(move_id, database, ends.schema, tenant_ddl.schema_tables(conn, ends.schema)))


def drop_move_role(ends: Ends) -> None:
    """The move's role off the source, with every right it was given. A role that still holds
    something elsewhere on that server (another database) cannot be dropped: it loses its login
    and password instead, and the log says so."""
    role = queries.move_role(ends.move_id)
    with ends.source(autocommit=True) as conn:
        if not conn.execute(queries.ROLE_EXISTS, (role,)).fetchone():
            return
        try:
            with conn.transaction():
                conn.execute(queries.revoke_move_role(ends.move_id))
                conn.execute(queries.drop_move_role(ends.move_id))
        except psycopg.errors.DependentObjectsStillExist as exc:
            with conn.transaction():
                conn.execute(queries.disable_move_role(ends.move_id))
            log.warning("role %s on %s kept without login: %s", role, ends.source_name, exc.diag.message_detail)


Progress = Callable[[str], None]
Check = Callable[[], None]  # raises MoveAborted when a cancel was asked for


def wait_synchronised(ends: Ends, timeout_s: float, poll_s: float, progress: Progress, check: Check) -> None:
    """Every table copied and streaming, then the subscriber caught up with the source as it was."""
    deadline = time.monotonic() + timeout_s
    name = queries.publication_name(ends.move_id)
    with ends.source(autocommit=True) as source, ends.target(autocommit=True) as target:
        total = len(tenant_ddl.schema_tables(source, ends.schema))
        last = ""
        while True:
            states = target.execute(queries.SUBSCRIPTION_TABLES, (name,)).fetchall()
            ready = sum(1 for _, state in states if state == "r")
            if ready == total and len(states) == total:
                break
            note = f"initial copy: {ready}/{total} tables ready"
            if note != last:
                progress(note)
                last = note
            _tick(deadline, timeout_s, "the initial copy", check, poll_s)
        goal = source.execute(queries.CURRENT_LSN).fetchone()[0]
        _wait_lsn(source, name, goal, deadline=deadline, timeout_s=timeout_s, poll_s=poll_s, check=check,
                  progress=progress)


def _wait_lsn(source: psycopg.Connection, slot: str, goal: str, *, deadline: float, timeout_s: float, poll_s: float,
              check: Check, progress: Progress | None = None) -> None:
    last_note = 0.0
    while True:
        row = source.execute(queries.SLOT, (slot,)).fetchone()
        if row is None:
            raise ControlPlaneError(f"Replication slot {slot} is gone from the source cluster; cancel the move "
                                    "and start it again.")
        flushed = row[0]
        if flushed is not None and source.execute(queries.LSN_REACHED, (flushed, goal)).fetchone()[0]:
            return
        if progress and time.monotonic() - last_note > 2:
            lag = source.execute(queries.LSN_DIFF, (goal, flushed or "0/0")).fetchone()[0]
            progress(f"catching up: {lag} bytes of WAL behind")
            last_note = time.monotonic()
        _tick(deadline, timeout_s, "catching up", check, poll_s)


def _tick(deadline: float, timeout_s: float, what: str, check: Check, poll_s: float) -> None:
    check()
    if time.monotonic() > deadline:
        raise ControlPlaneError(f"The move did not finish {what} within {timeout_s:g} s; nothing was switched. "
                                "Run the move again to go on waiting, or cancel it.")
    time.sleep(poll_s)


def block_writes(ends: Ends, lock_timeout_ms: int, tries: int = 3) -> str:
    """Revoke the tenant's rights as suspend does, end the sessions that hold its tables, then wait
    for any writer left: after that no write can commit on the source. Returns the WAL position
    every committed write is before."""
    with ends.source(autocommit=True) as conn:
        with conn.transaction():
            conn.execute(tenant_ddl.revoke_access(ends.slug))
        tables = tenant_ddl.schema_tables(conn, ends.schema)
        for attempt in range(1, tries + 1):
            conn.execute(queries.TERMINATE_SCHEMA_SESSIONS, (ends.schema,))
            try:
                with conn.transaction():
                    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(int(lock_timeout_ms))))
                    if tables:
                        conn.execute(tenant_ddl.lock_tables_share(ends.schema, tables))
                    return conn.execute(queries.CURRENT_LSN).fetchone()[0]
            except psycopg.errors.LockNotAvailable:
                if attempt == tries:
                    raise ControlPlaneError(f"Could not lock tenant {ends.slug}'s tables on {ends.source_name} to "
                                            f"finish its writes ({tries} tries); run the move again.") from None
    raise AssertionError("unreachable")


def wait_caught_up(ends: Ends, lsn: str, timeout_s: float, poll_s: float, check: Check) -> None:
    with ends.source(autocommit=True) as source:
        _wait_lsn(source, queries.publication_name(ends.move_id), lsn, deadline=time.monotonic() + timeout_s,
                  timeout_s=timeout_s, poll_s=poll_s, check=check)


def copy_data(ends: Ends) -> dict[str, int]:
    """Offline: every table's rows, streamed from source to target in one target transaction
    (emptied first, so a re-run after a crash starts over). Foreign keys are not re-checked on the
    target (replica mode, as logical replication applies rows): the source checked them."""
    copied: dict[str, int] = {}
    with ends.source() as source, ends.target() as target:
        with source.transaction(), target.transaction():
            source.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            tables = tenant_ddl.schema_tables(source, ends.schema)
            target.execute("SET LOCAL session_replication_role = replica")
            if tables:
                target.execute(queries.truncate(ends.schema, tables))
            for table in tables:
                writer = target.cursor()
                with source.cursor().copy(queries.copy_out(ends.schema, table)) as out, \
                        writer.copy(queries.copy_in(ends.schema, table)) as into:
                    for chunk in out:
                        into.write(chunk)
                copied[table] = writer.rowcount
    return copied


def copy_sequences(ends: Ends) -> dict[str, int]:
    values: dict[str, int] = {}
    with ends.source(autocommit=True) as source, ends.target() as target, target.transaction():
        for (seq,) in source.execute(queries.SEQUENCES, (ends.schema,)).fetchall():
            last, called = source.execute(queries.sequence_state(ends.schema, seq)).fetchone()
            queries.set_sequence(target, ends.schema, seq, last, called)
            values[seq] = int(last)
    return values


def checksums(conn: psycopg.Connection, schema: str) -> dict[str, list]:
    conn.execute(queries.STABLE_OUTPUT)
    return {t: list(conn.execute(queries.table_checksum(schema, t)).fetchone())
            for t in tenant_ddl.schema_tables(conn, schema)}


def verify(ends: Ends, version: int) -> dict[str, dict]:
    """Row counts and per-table checksums on both sides (read at the same time, one thread per
    cluster) and the template version; raises VerificationFailed on any difference."""
    results: dict[str, dict[str, list]] = {}
    errors: list[BaseException] = []

    def read(side: str) -> None:
        try:
            with (ends.source if side == "source" else ends.target)(autocommit=True) as conn:
                results[side] = checksums(conn, ends.schema)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(side,)) for side in ("source", "target")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    source, target = results["source"], results["target"]
    report = {t: {"source_rows": source.get(t, [None])[0], "target_rows": target.get(t, [None])[0],
                  "equal": source.get(t) == target.get(t)} for t in sorted(set(source) | set(target))}
    different = [t for t, r in report.items() if not r["equal"]]
    found = source_version(ends)
    if found != version:
        different.append(f"template version (source at {found}, target prepared at {version})")
    if different:
        raise VerificationFailed(f"Verification failed for tenant {ends.slug}: {', '.join(different)} differ "
                                 "between source and target; nothing was switched and the source is as it was.")
    return report


def grant_on_target(ends: Ends, tenant_active: bool) -> None:
    with ends.target() as conn, conn.transaction():
        conn.execute(tenant_ddl.grant_to_data_plane(ends.slug))
        if tenant_active:
            conn.execute(tenant_ddl.grant_access(ends.slug))
        else:  # suspended: the role keeps USAGE only, as suspend leaves it
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {s} TO {r}").format(
                s=sql.Identifier(ends.schema), r=sql.Identifier(role_name(ends.slug))))


def grant_on_source(ends: Ends) -> None:
    with ends.source() as conn, conn.transaction():
        conn.execute(tenant_ddl.grant_access(ends.slug))


def drop_replication(ends: Ends, timeout_s: float = 30.0) -> None:
    """Subscription (target), then slot, publication and the move's role (source); each only if
    it exists."""
    name = queries.publication_name(ends.move_id)
    with ends.target(autocommit=True) as target:
        if target.execute(queries.SUBSCRIPTION_EXISTS, (name,)).fetchone():
            for statement in queries.detach_subscription(ends.move_id):
                target.execute(statement)
    with ends.source(autocommit=True) as source:
        deadline = time.monotonic() + timeout_s
        while True:  # the walsender of a dropped subscription takes a moment to let go of the slot
            row = source.execute(queries.SLOT, (name,)).fetchone()
            if row is None:
                break
            if not row[1]:
                source.execute(queries.drop_slot(ends.move_id))
                continue
            if time.monotonic() > deadline:
                raise ControlPlaneError(f"Replication slot {name} on {ends.source_name} is still in use after "
                                        f"{timeout_s:g} s; run the command again.")
            time.sleep(0.1)
        source.execute(queries.drop_publication(ends.move_id))
    drop_move_role(ends)


def drop_target_schema(ends: Ends) -> None:
    """Undo of prepare_target: only ever called before the cut-over, when the target copy is ours."""
    with ends.target() as conn, conn.transaction():
        tenant_ddl.drop_schema(conn, ends.schema)
        # and the role prepare_target made there, unless that server still uses it (another
        # database's schema or grants: then PostgreSQL refuses and it stays)
        tenant_ddl.drop_role_if_unused(conn, ends.slug)


def retire_source(ends: Ends, retained: str, note: str) -> None:
    """The source schema, renamed and read-only, kept until the purge job drops it."""
    role = role_name(ends.slug)
    with ends.source() as conn, conn.transaction():
        if conn.execute(queries.SCHEMA_EXISTS, (ends.schema,)).fetchone():
            conn.execute(tenant_ddl.revoke_access(ends.slug))
            conn.execute(queries.rename_schema(ends.schema, retained))
        if conn.execute(queries.SCHEMA_EXISTS, (retained,)).fetchone():
            if conn.execute(queries.ROLE_EXISTS, (role,)).fetchone():
                conn.execute(queries.revoke_schema(retained, role))
            conn.execute(queries.comment_retained(retained, note))
