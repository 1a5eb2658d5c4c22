"""Demo mode on first start: simulated AWS, then demo accounts and data (app area owns this)."""

from __future__ import annotations

from control_plane.context import AppContext


def prepare_demo(ctx: AppContext) -> None:
    """Idempotent: start the local AWS simulation and seed the demo catalog once."""
