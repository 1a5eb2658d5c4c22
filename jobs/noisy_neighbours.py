"""Job `noisy_neighbours` (hourly): flag tenants whose usage jumps over their 7-day baseline."""

from __future__ import annotations

from control_plane.usage.noisy import detect_noisy_neighbours
from jobs.context import JobContext


def run(context: JobContext) -> str:
    return detect_noisy_neighbours(context.app, context.now()).summary()
