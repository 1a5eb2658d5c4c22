"""`billing` commands (owned by their area; registered here so `--help` lists them)."""

from __future__ import annotations


def register(groups) -> None:
    group = groups.add_parser("billing", help="billing (not yet available)")
    group.set_defaults(func=lambda args: group.error("no commands yet"))
