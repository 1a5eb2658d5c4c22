"""The states of a tenant move and what may happen in each (docs/moves.md). The values are the
ones stored in `tenant_moves.status`. Whether a move can still be cancelled also depends on its
step (not past the cut-over): `can_cancel`."""

from __future__ import annotations

from enum import StrEnum

from control_plane.domain.machine import MachineState, bind


class MoveAction(StrEnum):
    DRIVE = "drive"  # take the next step (a new move, or one resumed after its process stopped)
    COMPLETE = "complete"
    CANCEL = "cancel"  # before the cut-over only: everything the move made is dropped
    FAIL = "fail"  # a step failed before the cut-over: undone as a cancel is

    @property
    def leads_to(self) -> MoveStatus:
        return MOVE_TRANSITIONS[self][1]


class MoveStatus(MachineState):
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


# action: (the statuses it is allowed in, the status it leads to)
MOVE_TRANSITIONS: dict[MoveAction, tuple[frozenset[MoveStatus], MoveStatus]] = {
    MoveAction.DRIVE: (frozenset({MoveStatus.RUNNING}), MoveStatus.RUNNING),
    MoveAction.COMPLETE: (frozenset({MoveStatus.RUNNING}), MoveStatus.COMPLETED),
    MoveAction.CANCEL: (frozenset({MoveStatus.RUNNING}), MoveStatus.CANCELLED),
    MoveAction.FAIL: (frozenset({MoveStatus.RUNNING}), MoveStatus.FAILED),
}
bind(MoveStatus, MOVE_TRANSITIONS)
