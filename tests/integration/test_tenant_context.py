"""SET LOCAL ROLE / search_path never leak: thousands of concurrent transactions of two tenants
forced through one pooled connection."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from control_plane.adapters.clusters import libpq_url
from control_plane.adapters.tenant_context import tenant_session, tenant_transaction
from control_plane.errors import ControlPlaneError
from tests.factories import make_tenant

ITERATIONS_PER_THREAD = 800
THREADS = 4


class Boom(Exception):
    pass


def test_two_tenants_through_one_pooled_connection_never_see_each_other(ctx, new_slug):
    a, b = new_slug("ctxa"), new_slug("ctxb")
    for slug in (a, b):
        make_tenant(ctx, slug)
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as conn:
        for slug in (a, b):
            with tenant_transaction(conn, slug) as t:
                t.execute("INSERT INTO events (kind) SELECT %s FROM generate_series(1, 3)", (slug,))
        owner = conn.execute("SELECT current_user").fetchone()[0]
        default_path = conn.execute("SELECT current_setting('search_path')").fetchone()[0]

    pool = ConnectionPool(libpq_url(ctx.catalog_url), min_size=1, max_size=1, kwargs={"autocommit": True},
                          open=True)
    backends: set[int] = set()
    counts = {"tenant": 0, "plain": 0, "rolled_back": 0}
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(ITERATIONS_PER_THREAD):
            slug = (a, b)[(n + i) % 2]
            if i % 7 == 3:
                with pool.connection() as plain:  # what the next borrower sees
                    user, path, pid = plain.execute(
                        "SELECT current_user, current_setting('search_path'), pg_backend_pid()").fetchone()
                    assert (user, path) == (owner, default_path), (user, path)
                    with lock:
                        counts["plain"] += 1
                        backends.add(pid)
                continue
            try:
                with tenant_session(pool, slug, statement_timeout_ms=5000) as t:
                    user, path = t.execute("SELECT current_user, current_setting('search_path')").fetchone()
                    assert user == f"tenant_{slug}" and path == f"tenant_{slug}", (slug, user, path)
                    kinds = {row[0] for row in t.execute("SELECT DISTINCT kind FROM events")}
                    assert kinds == {slug}, (slug, kinds)
                    if i % 11 == 5:
                        raise Boom  # rollback path must not leak either
                    with lock:
                        counts["tenant"] += 1
            except Boom:
                with lock:
                    counts["rolled_back"] += 1

    with ThreadPoolExecutor(THREADS) as executor:
        for future in [executor.submit(worker, n) for n in range(THREADS)]:
            future.result()
    pool.close()

    assert len(backends) == 1  # every transaction went through the same physical connection
    total = counts["tenant"] + counts["plain"] + counts["rolled_back"]
    assert total == THREADS * ITERATIONS_PER_THREAD and counts["rolled_back"] > 100 and counts["plain"] > 300


def test_tenant_transaction_refuses_an_open_outer_transaction(ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    with psycopg.connect(libpq_url(ctx.catalog_url)) as conn:  # not autocommit
        conn.execute("SELECT 1")  # opens a transaction
        with pytest.raises(ControlPlaneError, match="no open transaction"):
            with tenant_transaction(conn, slug):
                pass


def test_statement_timeout_is_local(ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled):
            with tenant_transaction(conn, slug, statement_timeout_ms=50) as t:
                t.execute("SELECT pg_sleep(2)")
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "0"
