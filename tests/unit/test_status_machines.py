"""Runs, per-tenant results, moves and tenants each have one table of states and what may happen
in each (fleet/states.py, moves/states.py, domain/lifecycle.py); the services and the pages ask
it. The stored values are the ones the catalog's CHECK constraints allow, unchanged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from control_plane.domain.lifecycle import Action, Status
from control_plane.fleet.states import ACTIVE, RUN_TRANSITIONS, ResultStatus, RunAction, RunStatus
from control_plane.moves.states import MoveAction, MoveStatus

VERSIONS = Path(__file__).resolve().parents[2] / "control_plane" / "migrations" / "versions"


def _allowed(migration: str, first: str) -> set[str]:
    text = (VERSIONS / migration).read_text(encoding="utf-8")
    found = [set(re.findall(r"'([a-z_]+)'", m)) for m in re.findall(r"status in \(([^)]*)\)", text)]
    return next(values for values in found if first in values)


@pytest.mark.parametrize(("enum", "migration", "first"), [
    (RunStatus, "0011_fleet_migrations.py", "planned"), (ResultStatus, "0011_fleet_migrations.py", "pending"),
    (MoveStatus, "0012_tenant_moves.py", "cancelled"), (Status, "0001_catalog.py", "provisioning")])
def test_the_states_are_the_stored_values(enum, migration, first):
    assert {s.value for s in enum} == _allowed(migration, first)


def test_a_run_moves_on_as_the_driver_and_the_page_expect():
    assert ACTIVE == (RunStatus.PLANNED, RunStatus.RUNNING, RunStatus.SOAKING)
    path = [RunAction.START, RunAction.SOAK, RunAction.PROMOTE, RunAction.COMPLETE, RunAction.ROLL_BACK]
    status = RunStatus.PLANNED
    for action in path:
        status = status.after(action)
    assert status is RunStatus.ROLLED_BACK
    assert [s for s in RunStatus if s.can(RunAction.ROLL_BACK)] == [RunStatus.HALTED, RunStatus.COMPLETED]
    assert [s for s in RunStatus if s.can(RunAction.RESUME)] == [RunStatus.HALTED]
    with pytest.raises(ValueError, match="cannot resume what is completed"):
        RunStatus.COMPLETED.after(RunAction.RESUME)
    assert {a.value for a in RUN_TRANSITIONS} == {"start", "soak", "promote", "complete", "halt", "resume", "rollback"}


def test_results_tried_again_and_reversed():
    assert {s for s in ResultStatus if s.retried_on_resume} == {
        ResultStatus.FAILED, ResultStatus.REVERSED, ResultStatus.REVERSE_FAILED}
    assert ResultStatus.APPLIED.reversed() is ResultStatus.REVERSED
    assert ResultStatus.FAILED.reversed() is ResultStatus.REVERSE_FAILED


def test_moves_and_tenants():
    assert [s for s in MoveStatus if s.can(MoveAction.CANCEL)] == [MoveStatus.RUNNING]
    assert MoveAction.FAIL.leads_to is MoveStatus.FAILED
    assert [s for s in Status if s.can(Action.MOVE)] == [Status.ACTIVE, Status.SUSPENDED]
    assert [s for s in Status if s.can(Action.CHANGE_PLAN)] == [Status.ACTIVE, Status.SUSPENDED]
    assert [s for s in Status if s.can(Action.RESTORE)] == [Status.ARCHIVED]
    assert [s for s in Status if s.can(Action.CANCEL_ARCHIVE)] == [Status.ARCHIVING]
