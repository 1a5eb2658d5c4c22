"""Tenant lifecycle: provisioning → active ⇄ suspended → archiving → archived → (purged);
archived → active by restore."""

from __future__ import annotations

from enum import StrEnum

from control_plane.errors import Conflict


class Status(StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ARCHIVING = "archiving"
    ARCHIVED = "archived"
    PURGED = "purged"


ALLOWED: dict[Status, frozenset[Status]] = {
    Status.PROVISIONING: frozenset({Status.ACTIVE}),
    Status.ACTIVE: frozenset({Status.SUSPENDED, Status.ARCHIVING}),
    Status.SUSPENDED: frozenset({Status.ACTIVE, Status.ARCHIVING}),
    Status.ARCHIVING: frozenset({Status.ARCHIVED, Status.ACTIVE, Status.SUSPENDED}),
    Status.ARCHIVED: frozenset({Status.ACTIVE, Status.PURGED}),
    Status.PURGED: frozenset(),
}


def can_transition(current: Status | str, target: Status | str) -> bool:
    return Status(target) in ALLOWED[Status(current)]


def require_transition(slug: str, current: Status | str, target: Status | str, action: str) -> None:
    if not can_transition(current, target):
        raise Conflict(f"Cannot {action} tenant {slug!r}: it is {Status(current).value}.")
