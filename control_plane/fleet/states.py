"""The states of a migration run and of its per-tenant results, and what may happen in each
(docs/migrations.md "A run"). The values are the ones stored in the catalog. The driver, the
service and the Migrations page all ask `can(action)` here instead of listing statuses.

A wave has no status of its own: it is the run's `current_wave` plus its results' statuses.
"""

from __future__ import annotations

from enum import StrEnum

from control_plane.domain.machine import MachineState, bind


class RunAction(StrEnum):
    """What can happen to a run; the value is the last word of its audit action (`fleet.run.<value>`)."""

    START = "start"
    SOAK = "soak"
    PROMOTE = "promote"
    COMPLETE = "complete"
    HALT = "halt"
    RESUME = "resume"
    ROLL_BACK = "rollback"


class RunStatus(MachineState):
    PLANNED = "planned"
    RUNNING = "running"
    SOAKING = "soaking"
    HALTED = "halted"
    COMPLETED = "completed"
    ROLLED_BACK = "rolled_back"

    @property
    def active(self) -> bool:
        """Moving tenants or about to: only one run at a time may be (a halt stops it)."""
        return self.can(RunAction.HALT)


_S = RunStatus
# action: (the statuses it is allowed in, the status it leads to)
RUN_TRANSITIONS: dict[RunAction, tuple[frozenset[RunStatus], RunStatus]] = {
    RunAction.START: (frozenset({_S.PLANNED}), _S.RUNNING),
    RunAction.SOAK: (frozenset({_S.RUNNING}), _S.SOAKING),
    RunAction.PROMOTE: (frozenset({_S.SOAKING}), _S.RUNNING),
    RunAction.COMPLETE: (frozenset({_S.RUNNING}), _S.COMPLETED),
    RunAction.HALT: (frozenset({_S.PLANNED, _S.RUNNING, _S.SOAKING}), _S.HALTED),
    RunAction.RESUME: (frozenset({_S.HALTED}), _S.RUNNING),
    # Offered once a run has stopped; a rolled-back run may be rolled back again (rollback only
    # re-checks that every tenant is back: service.rollback), but is not offered it.
    RunAction.ROLL_BACK: (frozenset({_S.HALTED, _S.COMPLETED}), _S.ROLLED_BACK),
}
bind(RunStatus, RUN_TRANSITIONS)
ACTIVE: tuple[RunStatus, ...] = tuple(s for s in RunStatus if s.active)


class ResultStatus(StrEnum):
    """One tenant's row in a run."""

    PENDING = "pending"  # to be migrated in its wave
    APPLIED = "applied"  # at the run's target
    FAILED = "failed"  # its migration failed (counted against max_failures)
    SKIPPED = "skipped"  # not migratable when planned (archived, moving, …)
    REVERSED = "reversed"  # put back at its from-version
    REVERSE_FAILED = "reverse_failed"  # putting it back failed

    @property
    def retried_on_resume(self) -> bool:
        """A resumed run tries these again (a wave reversed after a breach too)."""
        return self in (ResultStatus.FAILED, ResultStatus.REVERSED, ResultStatus.REVERSE_FAILED)

    def reversed(self) -> ResultStatus:
        """The row's status after an attempt to put the tenant back whose own outcome was this."""
        return ResultStatus.REVERSED if self is ResultStatus.APPLIED else ResultStatus.REVERSE_FAILED
