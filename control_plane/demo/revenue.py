"""Demo subscription history (revenue area), seeded through that area's services."""

from __future__ import annotations

import random

from control_plane.context import AppContext
from control_plane.services.tenants import TenantView


def seed(ctx: AppContext, tenants: list[TenantView], months: int, rng: random.Random) -> None:
    """Idempotent enough for demo use: called once, after the tenants exist."""
