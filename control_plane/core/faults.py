"""The fault hook of a long-running operation (provision, archive, restore, move): called with
each step's name as it is reached; a test raises there to stand for a crash at that step."""

from __future__ import annotations

from collections.abc import Callable

FaultHook = Callable[[str], None]


def no_fault(step: str) -> None:
    return None
