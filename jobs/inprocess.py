"""The scheduler inside the app process (embedded default), under the same leader lock."""

from __future__ import annotations

from control_plane.context import AppContext


def start_in_process(ctx: AppContext) -> None:
    """Start the scheduler in a background thread once per process (uptime/jobs area owns this)."""
