"""A crash at a named step: services take a `fault` hook called with each step's name, and a
test raises there to stand in for the process dying at that point."""

from __future__ import annotations

from collections.abc import Callable


class Crash(Exception):
    """Stands in for the process dying at a given step."""


def crash_at(step_name: str) -> Callable[[str], None]:
    def fault(step: str) -> None:
        if step == step_name:
            raise Crash(step)

    return fault
