"""Job `noisy_neighbours` (hourly): flag tenants whose usage jumps over their 7-day baseline."""

from __future__ import annotations

from control_plane.scheduler.context import JobContext
from control_plane.usage.noisy import detect_noisy_neighbours


def run(context: JobContext) -> str:
    return detect_noisy_neighbours(context.app, context.now()).summary()
