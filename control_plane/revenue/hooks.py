"""Ledger entries written by lifecycle actions (plan change, suspend, resume, provision).

Called by control_plane.services.tenants inside the action's own transaction, so the
subscription change and the tenant change commit or roll back together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from control_plane.db.models import Tenant


def on_provision(session: Session, tenant: Tenant, at: datetime) -> None:
    """A new tenant starts its subscription on its plan (owned by the revenue area)."""


def on_plan_change(session: Session, tenant: Tenant, old_plan: str, new_plan: str, at: datetime) -> None:
    """A plan change made in the app becomes a subscription change effective that day."""


def on_suspend(session: Session, tenant: Tenant, at: datetime) -> None:
    """A suspension pauses billing from that day."""


def on_resume(session: Session, tenant: Tenant, at: datetime) -> None:
    """A resume restarts billing from that day."""
