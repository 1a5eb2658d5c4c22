"""The advisory-lock module (docs/advisory-locks.md): its keys are those the releases before it
took, so an old worker and a new one running side by side still exclude each other, and the
module's calls work on psycopg and SQLAlchemy connections alike."""

from __future__ import annotations

import pytest

from control_plane.db import advisory_locks as locks

# How each lock was taken before the module existed, verbatim, with the key it must equal.
BEFORE = [
    ("SELECT pg_advisory_xact_lock(72100001)", locks.DB_MIGRATE, "xact"),
    ("SELECT pg_advisory_lock(72100002)", locks.DEMO_STARTUP, "session"),
    ("SELECT pg_advisory_xact_lock(72100506)", locks.UPTIME_RAW, "xact"),
    ("SELECT pg_catalog.pg_try_advisory_lock(72100004, 1)", locks.scheduler_leader(), "session"),
    ("SELECT pg_catalog.pg_try_advisory_lock(72100005, pg_catalog.hashtext('usage_rollup'))",
     locks.job_run("usage_rollup"), "session"),
    ("SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended("
     "CAST('control_plane.fleet.run:7' AS pg_catalog.text), CAST(0 AS pg_catalog.int8)))", locks.fleet_run(7),
     "session"),
    ("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended("
     "CAST('control_plane.fleet:acme' AS pg_catalog.text), CAST(0 AS pg_catalog.int8)))", locks.fleet_tenant("acme"),
     "xact"),
    ("SELECT pg_try_advisory_lock(hashtextextended('control_plane.move:12', 0))", locks.move_driver(12), "session"),
    ("SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended('control_plane.provision:acme'::text, "
     "0::bigint))", locks.tenant_provision("acme"), "session"),
]


@pytest.mark.parametrize(("old_sql", "key", "level"), BEFORE, ids=[str(i) for i in range(len(BEFORE))])
def test_a_lock_taken_the_old_way_excludes_the_new_key(ctx, old_sql, key, level):
    with ctx.clusters.connect(None, autocommit=True) as old, ctx.clusters.connect(None, autocommit=True) as new:
        if level == "xact":
            with old.transaction():
                old.execute(old_sql)
                assert locks.held(new, key) and not locks.try_lock(new, key)
                assert locks.held(old, key, by_this_session=True)
            assert not locks.held(new, key)
        else:
            old.execute(old_sql)
            assert locks.held(new, key) and not locks.try_lock(new, key)
            assert not locks.held(new, key, by_this_session=True)
            old.execute("SELECT pg_advisory_unlock_all()")
            assert locks.try_lock(new, key) and locks.held(old, key)



def test_session_lock_on_sqlalchemy_and_psycopg(ctx):
    key = locks.fleet_run(999)
    with (ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as sa,
          ctx.clusters.connect(None, autocommit=True) as pg):
        with locks.session_lock(sa, key) as got:
            assert got
            with locks.session_lock(pg, key) as second:
                assert not second
            holder = locks.holder(pg, key)
            assert holder is not None and holder[0] != pg.info.backend_pid
        assert not locks.held(pg, key)
        with locks.session_lock(pg, key, wait=True) as got:
            assert got and locks.held(sa, key)


def test_negative_keys_are_matched_in_pg_locks(ctx):
    with ctx.clusters.connect(None, autocommit=True) as conn:
        ids = [i for i in range(1, 41)
               if conn.execute("SELECT hashtextextended(%s, 0) < 0", locks.move_driver(i).params).fetchone()[0]]
        jobs = [j for j in ("a", "b", "c", "d", "e", "f", "g", "h")
                if conn.execute("SELECT hashtext(%s) < 0", (j,)).fetchone()[0]]
        assert ids and jobs
        for key in (locks.move_driver(ids[0]), locks.job_run(jobs[0])):
            with locks.session_lock(conn, key) as got:
                assert got and locks.held(conn, key, by_this_session=True)


def test_locked_transaction_waits_and_composes(ctx):
    key = locks.fleet_tenant("acme")
    with ctx.clusters.connect(None, autocommit=True) as a, ctx.clusters.connect(None, autocommit=True) as b:
        with locks.locked_transaction(a, key):
            assert locks.held(b, key)
        assert not locks.held(b, key)
        with b.transaction():
            b.execute(locks.xact_lock_sql(key))
            assert locks.held(a, key)
