"""Runs on real schemas: waves, soak verdicts, halts and reversals, crashes and resumes, the
ledger (docs/migrations.md)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from control_plane.auth.permissions import Actor, Role
from control_plane.db.models import Alert, AuditEntry, MigrationRun
from control_plane.errors import Conflict, Forbidden, InvalidInput, NotFound
from control_plane.fleet import service
from control_plane.fleet.options import Options
from control_plane.fleet.run import Hooks
from control_plane.uptime import raw as raw_checks
from control_plane.uptime.raw import CheckRow
from tests.factories import OPERATOR, make_tenant
from tests.integration.fleet_helpers import WITH_STRICT_TITLES, add_long_task, catalog_version, columns, raw


class Crash(Exception):
    """Stands in for the driver dying."""


def _fleet(ctx, new_slug, n: int, version: int = 1, **kw) -> list[str]:
    slugs = [new_slug("f") for _ in range(n)]
    for slug in slugs:
        make_tenant(ctx, slug, template_version=version, **kw)
    return slugs


def _versions(ctx, slugs) -> dict[str, int]:
    with raw(ctx) as conn:
        return {s: catalog_version(conn, s) for s in slugs}


def _migrations_of(ctx, slug) -> list[int]:
    with ctx.session_factory() as s:
        return [e.detail["revision"] for e in s.scalars(select(AuditEntry).where(
            AuditEntry.tenant_slug == slug, AuditEntry.action == "tenant.migrate").order_by(AuditEntry.id))]


def _results(ctx, run_id) -> dict[str, dict]:
    return {r["tenant"]: r for r in service.status(ctx, OPERATOR, run_id).results}


def test_nothing_to_do_is_answered_without_a_run(ctx, new_slug):
    _fleet(ctx, new_slug, 3, version=3)
    started = service.start(ctx, OPERATOR, Options())
    assert started.run_id is None and started.message.startswith("Nothing to do: every tenant is at version 3")
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(MigrationRun)) == 0


def test_a_run_migrates_every_wave_soaks_and_completes(ctx, new_slug):
    slugs = _fleet(ctx, new_slug, 6)
    started = service.start(ctx, OPERATOR, Options(soak_seconds=0))
    assert [len(w) for w in started.plan.waves] == [1, 1, 4]
    step = service.drive(ctx, OPERATOR, started.run_id)
    assert step.status == "completed"
    assert set(_versions(ctx, slugs).values()) == {3}
    status = service.status(ctx, OPERATOR, started.run_id)
    assert status.status == "completed" and [d["verdict"] for d in status.decisions] == ["promote", "promote"]
    assert {r["status"] for r in status.results} == {"applied"}
    assert all(_migrations_of(ctx, s) == [2, 3] for s in slugs)


def test_a_tenant_whose_data_breaks_a_revision_fails_alone_and_halts_the_run(ctx, new_slug):
    slugs = _fleet(ctx, new_slug, 4, version=3)
    bad = slugs[2]
    with raw(ctx) as conn:
        add_long_task(conn, bad)
    hooks = Hooks(catalog=WITH_STRICT_TITLES)
    started = service.start(ctx, OPERATOR, Options(target=4, waves=(100,), soak_seconds=0, concurrency=1),
                            catalog=WITH_STRICT_TITLES)
    step = service.drive(ctx, OPERATOR, started.run_id, hooks=hooks)
    assert step.status == "halted" and "--max-failures 0" in step.detail
    results = _results(ctx, started.run_id)
    assert results[bad]["status"] == "failed" and "CheckViolation" in results[bad]["error"]
    versions = _versions(ctx, slugs)
    assert versions[bad] == 3
    for slug in slugs:  # the others: migrated before the failure, or not touched at all
        assert (results[slug]["status"], versions[slug]) in (("applied", 4), ("pending", 3), ("failed", 3))
    with ctx.session_factory() as s:
        alert = s.scalars(select(Alert).where(Alert.kind == "migration_halted")).one()
        assert f"run {started.run_id}" in alert.message


def _fail_checks(ctx, slugs):
    now = datetime.now(UTC)
    with ctx.session_factory() as s:
        raw_checks.append(s, [CheckRow(f"tenant:{slug}", slug, "schema", now, False, 5) for slug in slugs])
        s.commit()


def test_a_canary_breach_during_the_soak_halts_and_reverses_the_wave(ctx, new_slug):
    slugs = _fleet(ctx, new_slug, 6)

    def breach(run_id: int, wave: int) -> None:
        canary = [r["tenant"] for r in service.status(ctx, OPERATOR, run_id).results if r["status"] == "applied"]
        _fail_checks(ctx, canary)

    started = service.start(ctx, OPERATOR, Options(waves=(20, 100), soak_seconds=0))
    canary = [c.slug for c in started.plan.waves[0]]
    step = service.drive(ctx, OPERATOR, started.run_id, hooks=Hooks(on_soak=breach))
    assert step.status == "halted" and "breached" in step.detail and "the wave was reversed" in step.detail
    results = _results(ctx, started.run_id)
    assert {results[s]["status"] for s in canary} == {"reversed"}
    assert {results[s]["status"] for s in slugs if s not in canary} == {"pending"}  # later waves never started
    assert set(_versions(ctx, slugs).values()) == {1}
    with raw(ctx) as conn:
        assert all("due_at" not in columns(conn, s, "tasks") for s in slugs)
    status = service.status(ctx, OPERATOR, started.run_id)
    assert status.decisions[0]["verdict"] == "halt" and status.decisions[0]["migrated"]["failed"] == len(canary)
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "migration_halted")) == 1


def test_a_run_halted_by_a_breach_resumes_with_its_reversed_wave(ctx, new_slug):
    slugs = _fleet(ctx, new_slug, 5)
    breaches = iter([True])

    def breach_once(run_id: int, wave: int) -> None:
        if next(breaches, False):
            _fail_checks(ctx, [r["tenant"] for r in service.status(ctx, OPERATOR, run_id).results
                               if r["status"] == "applied"])

    started = service.start(ctx, OPERATOR, Options(waves=(20, 100), soak_seconds=0))
    assert service.drive(ctx, OPERATOR, started.run_id, hooks=Hooks(on_soak=breach_once)).status == "halted"
    service.resume(ctx, OPERATOR, started.run_id)
    # the failed checks stay in the store: a window that starts after them sees a healthy canary
    assert service.drive(ctx, OPERATOR, started.run_id, hooks=Hooks(on_soak=breach_once)).status == "completed"
    assert set(_versions(ctx, slugs).values()) == {3}
    assert {r["status"] for r in _results(ctx, started.run_id).values()} == {"applied"}


def test_a_crash_mid_run_resumes_and_applies_nothing_twice(ctx, new_slug):
    slugs = _fleet(ctx, new_slug, 5)
    done: list[str] = []

    def crash_after_two(outcome) -> None:
        done.append(outcome.slug)
        if len(done) == 2:
            raise Crash("killed")

    started = service.start(ctx, OPERATOR, Options(waves=(100,), soak_seconds=0, concurrency=1))
    with pytest.raises(Crash):
        service.drive(ctx, OPERATOR, started.run_id, hooks=Hooks(after_tenant=crash_after_two))
    statuses = sorted(r["status"] for r in _results(ctx, started.run_id).values())
    assert statuses == ["applied", "applied", "pending", "pending", "pending"]
    assert service.status(ctx, OPERATOR, started.run_id).status == "running"
    assert service.drive(ctx, OPERATOR, started.run_id).status == "completed"
    assert set(_versions(ctx, slugs).values()) == {3}
    assert all(_migrations_of(ctx, s) == [2, 3] for s in slugs)


def test_archived_tenants_are_skipped_and_reported(ctx, new_slug):
    slugs = _fleet(ctx, new_slug, 3)
    with raw(ctx) as conn:
        conn.execute("UPDATE control_plane.tenants SET status = 'archived' WHERE slug = %s", (slugs[0],))
    started = service.start(ctx, OPERATOR, Options(soak_seconds=0))
    assert [c.slug for c in started.plan.skipped] == [slugs[0]]
    assert service.drive(ctx, OPERATOR, started.run_id).status == "completed"
    results = _results(ctx, started.run_id)
    assert results[slugs[0]]["status"] == "skipped" and results[slugs[0]]["wave"] == 0
    assert _versions(ctx, slugs)[slugs[0]] == 1


def test_halt_then_rollback_puts_the_canary_back(ctx, new_slug):
    slugs = _fleet(ctx, new_slug, 4)
    started = service.start(ctx, OPERATOR, Options(waves=(25, 100), soak_seconds=3600))
    assert service.drive(ctx, OPERATOR, started.run_id, wait=False).status == "soaking"
    with pytest.raises(Conflict, match="halt it first"):
        service.rollback(ctx, OPERATOR, started.run_id)
    assert service.halt(ctx, OPERATOR, started.run_id, "looks odd").status == "halted"
    assert service.rollback(ctx, OPERATOR, started.run_id).status == "rolled_back"
    assert set(_versions(ctx, slugs).values()) == {1}


def test_a_halted_run_resumes_to_completion(ctx, new_slug):
    slugs = _fleet(ctx, new_slug, 4)
    started = service.start(ctx, OPERATOR, Options(waves=(25, 100), soak_seconds=3600))
    service.drive(ctx, OPERATOR, started.run_id, wait=False)
    service.halt(ctx, OPERATOR, started.run_id)
    with pytest.raises(NotFound):
        service.resume(ctx, OPERATOR, 10**9)
    service.resume(ctx, OPERATOR, started.run_id)
    ticks = itertools.count()  # a clock two hours on at every read: each hour-long soak is over when next read
    later = Hooks(clock=lambda: datetime.now(UTC) + timedelta(hours=2 * next(ticks)))
    assert service.drive(ctx, OPERATOR, started.run_id, hooks=later).status == "completed"
    assert set(_versions(ctx, slugs).values()) == {3}
    with pytest.raises(Conflict, match="only a halted run"):
        service.resume(ctx, OPERATOR, started.run_id)


def test_only_one_run_at_a_time_and_only_admin_or_oncall_run(ctx, new_slug):
    _fleet(ctx, new_slug, 2)
    started = service.start(ctx, OPERATOR, Options(soak_seconds=0))
    with pytest.raises(Conflict, match=f"run {started.run_id} is planned"):
        service.start(ctx, OPERATOR, Options(soak_seconds=0))
    support, founder = Actor("s", Role.SUPPORT), Actor("f", Role.FOUNDER)
    with pytest.raises(Forbidden):
        service.halt(ctx, support, started.run_id)
    assert service.status(ctx, founder, started.run_id).status == "planned"
    assert service.halt(ctx, Actor("o", Role.ONCALL), started.run_id).status == "halted"


@pytest.mark.parametrize("waves", [(0, 100), (50,), (60, 40, 100), (5, 101)])
def test_waves_given_by_a_caller_are_checked_like_the_cli_s(ctx, new_slug, waves):
    _fleet(ctx, new_slug, 1)
    with pytest.raises(InvalidInput, match="--waves must rise"):
        service.start(ctx, OPERATOR, Options(waves=waves, soak_seconds=0))
    assert service.status(ctx, OPERATOR) is None
