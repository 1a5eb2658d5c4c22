"""The shape every stored status with rules takes (fleet runs, moves): a StrEnum whose members are
the stored values, and one table `action: (the statuses it is allowed in, the status it leads to)`,
bound to it with `bind`, that `can` and `after` read."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Self

_TABLES: dict[type, Mapping[Any, tuple[frozenset[Any], Any]]] = {}


class MachineState(StrEnum):
    def can(self, action: str) -> bool:
        return self in _TABLES[type(self)][action][0]

    def after(self, action: str) -> Self:
        """The status `action` leads to from this one; ValueError when it is not allowed here."""
        sources, target = _TABLES[type(self)][action]
        if self not in sources:
            raise ValueError(f"cannot {action} what is {self.value}")
        return target


def bind(states: type[MachineState], table: Mapping[Any, tuple[frozenset[Any], Any]]) -> None:
    _TABLES[states] = table
