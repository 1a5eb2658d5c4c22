"""Can a tenant move online between two clusters? What each server lacks, said exactly
(docs/moves.md "Online or offline")."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from control_plane.moves import queries

MIN_VERSION = 150000  # CREATE PUBLICATION … FOR TABLES IN SCHEMA


@dataclass(frozen=True)
class ServerFacts:
    version_num: int
    wal_level: str
    max_replication_slots: int
    max_wal_senders: int
    max_logical_workers: int
    slots_used: int
    superuser: bool
    replication: bool
    identity: str
    can_quiet: bool = True  # may SET LOCAL what keeps a move's password out of logs (queries.QUIET_SETTINGS)

    @classmethod
    def read(cls, conn: psycopg.Connection) -> ServerFacts:
        row = conn.execute(queries.SERVER_FACTS).fetchone()
        assert row is not None
        quiet = row[0] < MIN_VERSION or bool(  # has_parameter_privilege: PostgreSQL 15
            conn.execute(queries.CAN_QUIET, (queries.CORE_QUIET_SETTINGS,)).fetchone()[0])
        return cls(*row, can_quiet=quiet)


@dataclass
class Readiness:
    source_missing: list[str] = field(default_factory=list)
    target_missing: list[str] = field(default_factory=list)

    @property
    def online(self) -> bool:
        return not (self.source_missing or self.target_missing)

    def explain(self, source: str, target: str) -> str:
        parts = [f"source cluster {source}: " + "; ".join(self.source_missing)] if self.source_missing else []
        if self.target_missing:
            parts.append(f"target cluster {target}: " + "; ".join(self.target_missing))
        return ". ".join(parts)


def _version(num: int) -> str:
    return f"{num // 10000}.{num % 10000}"


def assess(source: ServerFacts, target: ServerFacts) -> Readiness:
    """What stops logical replication from `source` to `target` (both clusters' own settings)."""
    ready = Readiness()
    for facts, missing in ((source, ready.source_missing), (target, ready.target_missing)):
        if facts.version_num < MIN_VERSION:
            missing.append(f"PostgreSQL {_version(facts.version_num)} (15 or later needed)")
    if source.wal_level != "logical":
        ready.source_missing.append(f"wal_level is {source.wal_level} (set wal_level = logical and restart)")
    if source.max_replication_slots - source.slots_used < 1:
        ready.source_missing.append(f"no free replication slot ({source.slots_used} of "
                                    f"{source.max_replication_slots} used; raise max_replication_slots)")
    if source.max_wal_senders < 2:
        ready.source_missing.append(f"max_wal_senders is {source.max_wal_senders} (2 or more needed)")
    if not (source.superuser or source.replication):
        ready.source_missing.append("the control plane's database user has neither SUPERUSER nor REPLICATION")
    if not target.superuser:
        ready.target_missing.append("the control plane's database user is not a superuser (CREATE SUBSCRIPTION "
                                    "needs it on PostgreSQL 15; rds_superuser on Aurora)")
    for facts, missing in ((source, ready.source_missing), (target, ready.target_missing)):
        if not facts.can_quiet:
            missing.append("the control plane's database user may not set log_statement and the other settings "
                           "that keep a move's password out of the server's logs (SUPERUSER, or GRANT SET ON "
                           f"PARAMETER {', '.join(queries.CORE_QUIET_SETTINGS)})")
    if target.max_logical_workers < 2:
        ready.target_missing.append(f"max_logical_replication_workers is {target.max_logical_workers} "
                                    "(2 or more needed)")
    if target.max_replication_slots < 1:
        ready.target_missing.append("max_replication_slots is 0 (subscriptions need replication origins)")
    return ready
