"""Revisions forward and back on real schemas; versions at provisioning; one tenant's migration
under a held lock (docs/migrations.md)."""

from __future__ import annotations

import threading

import psycopg
import pytest
from psycopg import sql

from control_plane.adapters.tenant_context import tenant_transaction
from control_plane.errors import InvalidInput
from control_plane.fleet import apply
from control_plane.services import tenants
from control_plane.tenant_schema.revisions import DEFAULT
from tests.factories import OPERATOR, make_tenant
from tests.integration.fleet_helpers import catalog_version, columns, comment, indexes, raw, tables

LATEST = DEFAULT.latest


def _tenant(slug: str) -> apply.Tenant:
    return apply.Tenant(slug, "default", None)


def test_new_tenants_are_at_the_latest_version_and_older_ones_on_request(ctx, new_slug):
    new, old = new_slug(), new_slug()
    assert make_tenant(ctx, new).template_version == LATEST == 3
    assert make_tenant(ctx, old, template_version=1).template_version == 1
    with raw(ctx) as conn:
        assert comment(conn, new) == f"control-plane tenant template v{LATEST}"
        assert comment(conn, old) == "control-plane tenant template v1"
        assert "due_at" in columns(conn, new, "tasks") and {"labels", "task_labels"} <= tables(conn, new)
        assert "due_at" not in columns(conn, old, "tasks") and "labels" not in tables(conn, old)


@pytest.mark.parametrize("version", [0, -1, LATEST + 1])
def test_an_unknown_template_version_is_refused_before_anything_is_made(ctx, new_slug, version):
    slug = new_slug()
    with pytest.raises(InvalidInput, match="versions are 1 to"):
        make_tenant(ctx, slug, template_version=version)
    with raw(ctx) as conn:
        assert catalog_version(conn, slug) is None and comment(conn, slug) is None


def test_v2_forward_adds_due_at_and_index_reverse_removes_them(ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug, template_version=1)
    up = apply.migrate(ctx, OPERATOR, _tenant(slug), 2)
    assert (up.status, up.from_version, up.to_version, up.steps) == ("applied", 1, 2, ["+2"])
    with raw(ctx) as conn:
        assert "due_at" in columns(conn, slug, "tasks") and "tasks_due_at_idx" in indexes(conn, slug)
        assert comment(conn, slug).endswith("v2") and catalog_version(conn, slug) == 2
    down = apply.migrate(ctx, OPERATOR, _tenant(slug), 1)
    assert (down.status, down.steps) == ("applied", ["-2"])
    with raw(ctx) as conn:
        assert "due_at" not in columns(conn, slug, "tasks") and "tasks_due_at_idx" not in indexes(conn, slug)
        assert comment(conn, slug).endswith("v1") and catalog_version(conn, slug) == 1


def test_v3_forward_adds_labels_usable_by_the_tenant_reverse_drops_them(ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug, template_version=2)
    assert apply.migrate(ctx, OPERATOR, _tenant(slug), 3).steps == ["+3"]
    # the tenant may use them
    with ctx.clusters.pool(None, slug).connection() as c, tenant_transaction(c, slug) as conn:
        conn.execute("INSERT INTO labels (name) VALUES ('urgent')")
        assert conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 1
    assert apply.migrate(ctx, OPERATOR, _tenant(slug), 2).steps == ["-3"]
    with raw(ctx) as conn:
        assert "labels" not in tables(conn, slug) and "task_labels" not in tables(conn, slug)
        assert catalog_version(conn, slug) == 2


def test_running_again_applies_nothing(ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug, template_version=1)
    assert apply.migrate(ctx, OPERATOR, _tenant(slug), 3).steps == ["+2", "+3"]
    again = apply.migrate(ctx, OPERATOR, _tenant(slug), 3)
    assert (again.status, again.steps, again.from_version, again.to_version) == ("applied", [], 3, 3)


def test_a_suspended_tenant_is_migrated_and_stays_without_access(ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug, template_version=2)
    tenants.suspend(ctx, OPERATOR, slug, "unpaid")
    assert apply.migrate(ctx, OPERATOR, _tenant(slug), 3).status == "applied"
    with raw(ctx) as conn:
        grants = conn.execute("SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = %s "
                              "AND table_schema = %s", (f"tenant_{slug}", f"tenant_{slug}")).fetchone()[0]
    assert grants == 0
    with ctx.clusters.pool(None, slug).connection() as c, pytest.raises(psycopg.errors.InsufficientPrivilege), \
            tenant_transaction(c, slug) as conn:
        conn.execute("SELECT count(*) FROM labels")
    tenants.resume(ctx, OPERATOR, slug)
    with ctx.clusters.pool(None, slug).connection() as c, tenant_transaction(c, slug) as conn:
        assert conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 0


def test_an_archiving_tenant_is_skipped(ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug, template_version=1)
    with raw(ctx) as conn:
        conn.execute("UPDATE control_plane.tenants SET status = 'archiving' WHERE slug = %s", (slug,))
        out = apply.migrate(ctx, OPERATOR, _tenant(slug), 2)
        assert (out.status, out.error) == ("skipped", "tenant is archiving: not migrated")
        assert "due_at" not in columns(conn, slug, "tasks")


def _hold_lock(ctx, slug):
    holder = raw(ctx)
    holder.autocommit = False
    holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(sql.Identifier(f"tenant_{slug}", "tasks")))
    return holder


def test_a_held_lock_is_retried_and_the_migration_succeeds_once_released(ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug, template_version=1)
    holder = _hold_lock(ctx, slug)
    retries: list[int] = []

    def release(who: str, attempt: int) -> None:
        retries.append(attempt)
        if attempt == 2:
            holder.rollback()  # the long transaction ends

    limits = apply.Limits(lock_timeout_ms=100, tries=5, backoff_max_s=0.05)
    out = apply.migrate(ctx, OPERATOR, _tenant(slug), 2, limits=limits, on_retry=release)
    holder.close()
    assert (out.status, out.attempts, retries) == ("applied", 3, [1, 2])
    with raw(ctx) as conn:
        assert catalog_version(conn, slug) == 2 and "due_at" in columns(conn, slug, "tasks")


def test_a_lock_never_released_is_recorded_as_failed_after_the_tries(ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug, template_version=1)
    holder = _hold_lock(ctx, slug)
    try:
        out = apply.migrate(ctx, OPERATOR, _tenant(slug), 2,
                            limits=apply.Limits(lock_timeout_ms=50, tries=3, backoff_max_s=0.02))
    finally:
        holder.close()
    assert (out.status, out.attempts, out.to_version) == ("failed", 3, 1)  # where it really is: unchanged
    assert out.error.startswith("lock timeout (50 ms) 3 times")
    with raw(ctx) as conn:
        assert catalog_version(conn, slug) == 1 and "due_at" not in columns(conn, slug, "tasks")


def test_two_migrations_of_one_tenant_at_once_apply_the_revision_once(ctx, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug, template_version=1)
    outs: list[apply.Outcome] = []
    threads = [threading.Thread(target=lambda: outs.append(apply.migrate(ctx, OPERATOR, _tenant(slug), 3)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(len(o.steps) for o in outs) in ([0, 2], [1, 1]) and all(o.status == "applied" for o in outs)
    assert sorted(s for o in outs for s in o.steps) == ["+2", "+3"]
