"""The instant pages treat as now: ctx.extras["clock"] when a test injects one, else the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime

from control_plane.context import AppContext


def now_of(ctx: AppContext) -> datetime:
    clock = ctx.extras.get("clock")
    return clock() if callable(clock) else datetime.now(UTC)
