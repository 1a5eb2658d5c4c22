"""Fleet records tell the truth after a crash (issue 17): a rollback after kill -9 of the driver puts
every tenant back at its starting version and structure, whatever the ledger had recorded; a tenant
whose revision fails is left exactly as it was; a reverse that fails keeps the true version in the
ledger and is named; a remote revision whose catalog update died gets its audit entry
(docs/migrations.md "Reconciliation")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from psycopg import sql
from sqlalchemy import select

from control_plane.db.models import AuditEntry
from control_plane.errors import Conflict
from control_plane.fleet import apply, drift, scripts, service
from control_plane.fleet.options import Options
from control_plane.fleet.run import Hooks
from control_plane.services import tenants
from tests.factories import OPERATOR, make_tenant
from tests.integration.fleet_helpers import catalog_version, comment, raw
from tests.integration.test_remote_cluster_lifecycle import remote, second_database  # noqa: F401 - fixtures
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _structure(conn, slugs) -> dict[str, frozenset[str]]:
    """Every schema's shape (tables, columns, constraints, indexes) and its version comment."""
    prints = drift.fingerprints(conn, [f"tenant_{s}" for s in slugs])
    return {s: prints[f"tenant_{s}"] | {f"comment {comment(conn, s)}"} for s in slugs}


def _results(ctx, run_id) -> dict[str, dict]:
    return {r["tenant"]: r for r in service.status(ctx, OPERATOR, run_id).results}


def _audited(ctx, slug, action="tenant.migrate") -> list[tuple[int, bool]]:
    with ctx.session_factory() as s:
        return [(e.detail["revision"], bool(e.detail.get("recorded_late"))) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.tenant_slug == slug, AuditEntry.action == action)
            .order_by(AuditEntry.id))]


def _add_conflicting_labels(conn, slug) -> None:
    """A table of the tenant's own named like revision 3's: revision 3 cannot be applied."""
    conn.execute(sql.SQL("CREATE TABLE {}.labels (id int PRIMARY KEY, note text); INSERT INTO {} VALUES (1, 'mine')")
                 .format(sql.Identifier(f"tenant_{slug}"), sql.Identifier(f"tenant_{slug}", "labels")))


def test_kill_9_mid_wave_then_halt_and_rollback_puts_every_tenant_back_as_it_was(ctx, new_slug, database_url):
    slugs = sorted(new_slug("kr") for _ in range(6))
    for slug in slugs:
        make_tenant(ctx, slug, template_version=1)
    conflicting, blocked = slugs[0], slugs[4]  # slug order within the wave: 0 fails, 1-3 migrate, 4 waits
    with raw(ctx) as conn:
        _add_conflicting_labels(conn, conflicting)
        before = _structure(conn, slugs)
    holder = raw(ctx)
    holder.autocommit = False
    holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(sql.Identifier(f"tenant_{blocked}", "tasks")))
    env = {**os.environ, "DATABASE_URL": database_url}
    cli = subprocess.Popen([sys.executable, "-m", "control_plane", "tenants", "migrate", "--waves", "100", "--soak",
                            "0", "--concurrency", "1", "--lock-timeout", "600000", "--max-failures", "5",
                            "--tenants", ",".join(slugs)],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with raw(ctx) as watch:
            wait_for("the CLI to wait on the held lock", lambda: watch.execute(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone(), seconds=60)
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait(timeout=30)
    finally:
        if cli.poll() is None:
            cli.kill()
    run = service.status(ctx, OPERATOR)
    with raw(ctx) as conn:
        assert [catalog_version(conn, s) for s in slugs] == [1, 3, 3, 3, 1, 1]
    # The orphaned query of the dead driver is cancelled by the server (it checks the client is
    # there): the lock it waited for can stay held, the tenant is never migrated behind our back.
    with raw(ctx) as watch:
        wait_for("the dead driver's queries to go", lambda: watch.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()[0] == 0, seconds=60)
    assert service.halt(ctx, OPERATOR, run.id, "killed driver").status == "halted"
    try:
        done = service.rollback(ctx, OPERATOR, run.id)
    finally:
        holder.rollback()
        holder.close()
    assert done.status == "rolled_back"
    with raw(ctx) as conn:
        assert [catalog_version(conn, s) for s in slugs] == [1] * 6
        assert _structure(conn, slugs) == before  # starting structure, the conflicting table with it
    results = _results(ctx, run.id)
    assert {s: (results[s]["status"], results[s]["to"]) for s in slugs[1:4]} == {s: ("reversed", 1)
                                                                                 for s in slugs[1:4]}
    assert results[conflicting]["status"] == "failed" and results[conflicting]["to"] == 1
    for slug in slugs[1:4]:  # every revision applied is audited, and every reverse
        assert [r for r, _ in _audited(ctx, slug)] == [2, 3]
        assert [r for r, _ in _audited(ctx, slug, "tenant.migrate.reverse")] == [3, 2]


def test_a_tenant_whose_revision_fails_is_left_exactly_as_it_was(ctx, new_slug):
    bad, good = sorted(new_slug("cf") for _ in range(2))
    for slug in (bad, good):
        make_tenant(ctx, slug, template_version=1)
    with raw(ctx) as conn:
        _add_conflicting_labels(conn, bad)
        before = _structure(conn, [bad, good])
    started = service.start(ctx, OPERATOR, Options(target=3, waves=(100,), soak_seconds=0, max_failures=1,
                                                   tenants=(bad, good)))
    assert service.drive(ctx, OPERATOR, started.run_id).status == "completed"
    with raw(ctx) as conn:
        assert (catalog_version(conn, bad), catalog_version(conn, good)) == (1, 3)
        assert _structure(conn, [bad])[bad] == before[bad]  # v1, its own labels table, no due_at
        assert conn.execute(sql.SQL("SELECT note FROM {}").format(
            sql.Identifier(f"tenant_{bad}", "labels"))).fetchall() == [("mine",)]
    results = _results(ctx, started.run_id)
    assert (results[bad]["status"], results[bad]["to"]) == ("failed", 1)
    assert "DuplicateTable" in results[bad]["error"]
    assert _audited(ctx, bad) == []  # nothing committed, nothing audited
    service.rollback(ctx, OPERATOR, started.run_id)
    with raw(ctx) as conn:
        assert _structure(conn, [bad, good]) == before


def test_a_failed_reverse_keeps_the_true_version_names_the_tenant_and_a_second_rollback_finishes(ctx, new_slug):
    stuck, fine = sorted(new_slug("rf") for _ in range(2))
    for slug in (stuck, fine):
        make_tenant(ctx, slug, template_version=1)
    started = service.start(ctx, OPERATOR, Options(target=3, waves=(100,), soak_seconds=0, lock_timeout_ms=100,
                                                   tenants=(stuck, fine)))
    assert service.drive(ctx, OPERATOR, started.run_id).status == "completed"
    with raw(ctx) as conn:
        at_v3 = _structure(conn, [stuck])[stuck]
    holder = raw(ctx)
    holder.autocommit = False  # reverse -3 can go on beside this lock; -2 (ALTER TABLE tasks) cannot
    holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(sql.Identifier(f"tenant_{stuck}", "tasks")))
    try:
        with pytest.raises(Conflict, match=f"not rolled back: 1 tenant.*{stuck}: at v3, started the run at v1"):
            service.rollback(ctx, OPERATOR, started.run_id, hooks=Hooks(backoff_max_s=0.01))
    finally:
        holder.rollback()
        holder.close()
    with raw(ctx) as conn:
        assert (catalog_version(conn, stuck), catalog_version(conn, fine)) == (3, 1)
        assert _structure(conn, [stuck])[stuck] == at_v3  # all or nothing: not half-way at v2
    results = _results(ctx, started.run_id)
    assert (results[stuck]["status"], results[stuck]["to"]) == ("reverse_failed", 3)  # where it really is
    assert (results[fine]["status"], results[fine]["to"]) == ("reversed", 1)
    assert service.status(ctx, OPERATOR, started.run_id).status == "completed"  # never rolled_back over it
    assert service.rollback(ctx, OPERATOR, started.run_id).status == "rolled_back"
    with raw(ctx) as conn:
        assert (catalog_version(conn, stuck), catalog_version(conn, fine)) == (1, 1)


def test_rollback_cli_exits_non_zero_and_names_a_tenant_it_cannot_put_back(ctx, cli, new_slug):
    slug = new_slug("rc")
    make_tenant(ctx, slug, template_version=1)
    started = service.start(ctx, OPERATOR, Options(target=3, waves=(100,), soak_seconds=0, tenants=(slug,)))
    assert service.drive(ctx, OPERATOR, started.run_id).status == "completed"
    holder = raw(ctx)
    holder.autocommit = False
    holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(sql.Identifier(f"tenant_{slug}", "tasks")))
    try:
        code, _out, err = cli("tenants", "migrate", "rollback", str(started.run_id))
    finally:
        holder.rollback()
        holder.close()
    assert code != 0 and slug in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert service.status(ctx, OPERATOR, started.run_id).status == "completed"


def test_a_remote_revision_whose_catalog_update_died_is_audited_and_rolled_back(ctx, remote, new_slug,  # noqa: F811
                                                                               monkeypatch):
    slug = new_slug("rr")
    tenants.provision(ctx, OPERATOR, slug, "Remote", "team", cluster="eu1", template_version=1)
    started = service.start(ctx, OPERATOR, Options(target=3, waves=(100,), soak_seconds=0, tenants=(slug,)))

    def die(*_args, **_kwargs):
        raise SystemExit("killed between the cluster's commit and the catalog's")

    with monkeypatch.context() as patch:
        patch.setattr(scripts, "catalog_follows", die)
        with pytest.raises(SystemExit):
            service.drive(ctx, OPERATOR, started.run_id)
    assert comment(remote, slug).endswith("v3")
    with raw(ctx) as conn:
        assert catalog_version(conn, slug) == 1
    assert _audited(ctx, slug) == []
    assert _results(ctx, started.run_id)[slug]["status"] == "pending"
    service.halt(ctx, OPERATOR, started.run_id)
    assert service.rollback(ctx, OPERATOR, started.run_id).status == "rolled_back"
    assert _audited(ctx, slug) == [(2, True), (3, True)]  # written by reconciliation, marked late
    assert [r for r, _ in _audited(ctx, slug, "tenant.migrate.reverse")] == [3, 2]
    assert comment(remote, slug).endswith("v1")
    with raw(ctx) as conn:
        assert catalog_version(conn, slug) == 1


def test_a_lost_remote_catalog_update_is_audited_when_the_tenant_is_run_again(ctx, remote, new_slug,  # noqa: F811
                                                                              monkeypatch):
    slug = new_slug("rl")
    tenants.provision(ctx, OPERATOR, slug, "Remote", "team", cluster="eu1", template_version=1)
    target = apply.Tenant(slug, "eu1", "CP_TEST_CLUSTER_URL")
    with monkeypatch.context() as patch:
        patch.setattr(scripts, "catalog_follows", lambda *a, **k: (_ for _ in ()).throw(SystemExit("killed")))
        with pytest.raises(SystemExit):
            apply.migrate(ctx, OPERATOR, target, 2)
    again = apply.migrate(ctx, OPERATOR, target, 3)  # the resumed run: +3 applied, +2 recorded late
    assert (again.status, again.steps) == ("applied", ["+3"])
    assert _audited(ctx, slug) == [(2, True), (3, False)]
    with raw(ctx) as conn:
        assert catalog_version(conn, slug) == 3
