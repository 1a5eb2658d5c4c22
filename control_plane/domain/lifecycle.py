"""Tenant lifecycle: provisioning → active ⇄ suspended → archiving → archived → (purged);
archived → active by restore."""

from __future__ import annotations

from enum import StrEnum

from control_plane.errors import Conflict


class Action(StrEnum):
    """What an operator can do to a tenant (each also needs its permission)."""

    SUSPEND = "suspend"
    RESUME = "resume"
    CHANGE_PLAN = "change_plan"
    REQUEST_ARCHIVE = "request_archive"
    ARCHIVE = "archive"  # start one; an archive that stopped half-way is carried on by archive/service
    CANCEL_ARCHIVE = "cancel_archive"
    RESTORE = "restore"
    MOVE = "move"
    MIGRATE = "migrate"  # to another template version, by a fleet run (a moving tenant is skipped)


class Status(StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ARCHIVING = "archiving"
    ARCHIVED = "archived"
    PURGED = "purged"

    def can(self, action: Action | str) -> bool:
        return self in ACTIONS[Action(action)]


ALLOWED: dict[Status, frozenset[Status]] = {
    Status.PROVISIONING: frozenset({Status.ACTIVE}),
    Status.ACTIVE: frozenset({Status.SUSPENDED, Status.ARCHIVING}),
    Status.SUSPENDED: frozenset({Status.ACTIVE, Status.ARCHIVING}),
    Status.ARCHIVING: frozenset({Status.ARCHIVED, Status.ACTIVE, Status.SUSPENDED}),
    Status.ARCHIVED: frozenset({Status.ACTIVE, Status.PURGED}),
    Status.PURGED: frozenset(),
}


_LIVE = frozenset({Status.ACTIVE, Status.SUSPENDED})  # the statuses a tenant is changed in
# action: the statuses it may be taken in
ACTIONS: dict[Action, frozenset[Status]] = {
    Action.SUSPEND: frozenset({Status.ACTIVE}),
    Action.RESUME: frozenset({Status.SUSPENDED}),
    Action.CHANGE_PLAN: _LIVE,
    Action.REQUEST_ARCHIVE: _LIVE,
    Action.ARCHIVE: _LIVE,
    Action.CANCEL_ARCHIVE: frozenset({Status.ARCHIVING}),
    Action.RESTORE: frozenset({Status.ARCHIVED}),
    Action.MOVE: _LIVE,
    Action.MIGRATE: _LIVE,
}


def can_transition(current: Status | str, target: Status | str) -> bool:
    return Status(target) in ALLOWED[Status(current)]


def require_transition(slug: str, current: Status | str, target: Status | str, action: str) -> None:
    if not can_transition(current, target):
        raise Conflict(f"Cannot {action} tenant {slug!r}: it is {Status(current).value}.")
