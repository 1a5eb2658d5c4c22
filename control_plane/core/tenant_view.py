"""What every caller shows of a tenant, built in one place from a catalog row: the ORM's Tenant
(services) or a row of adapters/tenant_reads.py (the CLI's read path without SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from control_plane.adapters.tenant_reads import COLUMNS
from control_plane.domain.slugs import role_name, schema_name

if TYPE_CHECKING:  # the CLI's read path builds views without loading SQLAlchemy
    from control_plane.db.models import Tenant


@dataclass(frozen=True)
class TenantView:
    slug: str
    name: str
    status: str
    plan: str
    schema: str
    role: str
    cluster: str
    created_at: datetime
    updated_at: datetime
    owner_email: str | None
    status_reason: str | None
    endpoint_url: str | None
    template_version: int | None
    is_demo: bool


def view_of_row(row: Mapping[str, Any]) -> TenantView:
    """A row with adapters/tenant_reads.py's COLUMNS."""
    return TenantView(
        slug=row["slug"], name=row["name"], status=row["status"], plan=row["plan_code"],
        schema=schema_name(row["slug"]), role=role_name(row["slug"]), cluster=row["cluster_name"],
        created_at=row["created_at"], updated_at=row["updated_at"], owner_email=row["owner_email"],
        status_reason=row["status_reason"], endpoint_url=row["endpoint_url"],
        template_version=row["template_version"], is_demo=row["is_demo"],
    )


def view(tenant: Tenant) -> TenantView:
    return view_of_row({column: getattr(tenant, column) for column in COLUMNS})
