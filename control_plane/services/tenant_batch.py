"""`tenants provision-many FILE.csv`: many tenants from one file, safe to run again.

The whole file is read and checked before anything is provisioned: a bad byte, a NUL, an overlong
field, a row with the wrong number of fields or a bad header stops it with nothing done. Then each
row is provisioned on its own (a row's own problem — a bad slug, an unknown plan — fails only that
row). A tenant that already exists as the row asks for (active, same name and plan, and the same
cluster, owner e-mail and endpoint where the row names them) counts as done, so re-running a file
after an interruption finishes the rest and succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from control_plane import csv_input
from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.core.tenant_view import TenantView
from control_plane.domain.lifecycle import Status
from control_plane.errors import Conflict, ControlPlaneError, InvalidInput
from control_plane.services import tenants

REQUIRED = ("slug", "name", "plan")
OPTIONAL = ("owner_email", "cluster", "endpoint_url")
MAX_ROWS = 20_000  # the most tenants the platform is built for (docs/cli.md); split bigger files
PROBLEMS_SHOWN = 20
PROVISIONED, EXISTS, ERROR = "ok", "exists", "error"


@dataclass(frozen=True)
class BatchRow:
    line: int
    slug: str
    name: str
    plan: str
    cluster: str | None = None
    owner_email: str | None = None
    endpoint_url: str | None = None
    duplicate_of: int | None = None  # line of an earlier row with the same slug


@dataclass(frozen=True)
class RowResult:
    line: int
    slug: str
    result: str  # ok | exists | error
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"line": str(self.line), "slug": self.slug, "result": self.result, "message": self.message}


def read_file(path: Path) -> list[BatchRow]:
    """Every row of the file, or InvalidInput naming the lines that make it unreadable."""
    source = str(path)
    records = csv_input.rows(path, source)
    first = next(records, None)
    if first is None:
        raise InvalidInput(f"{source}: line 1: the file is empty; expected the header slug,name,plan.")
    header = [h.strip().lower() for h in first[1]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(f"{source}: line 1: the header must name slug,name,plan (missing {', '.join(missing)}).")
    where = {c: header.index(c) for c in (*REQUIRED, *OPTIONAL) if c in header}
    rows: list[BatchRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, cells in records:
        if not cells or all(not cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problems.append(f"line {line}: expected {len(header)} fields ({','.join(header)[:200]}), got {len(cells)}")
            continue
        if len(rows) == MAX_ROWS:
            raise InvalidInput(f"{source}: line {line}: more than {MAX_ROWS:,} rows; split the file.")
        value = {c: cells[i].strip() for c, i in where.items()}
        slug = value["slug"]
        rows.append(BatchRow(line, slug, value["name"], value["plan"], value.get("cluster") or None,
                             value.get("owner_email") or None, value.get("endpoint_url") or None,
                             seen.get(slug)))
        seen.setdefault(slug, line)
    if problems:
        more = f" (and {len(problems) - PROBLEMS_SHOWN} more)" if len(problems) > PROBLEMS_SHOWN else ""
        raise InvalidInput(f"{source}: {len(problems)} malformed row(s), nothing provisioned: "
                           + "; ".join(problems[:PROBLEMS_SHOWN]) + more)
    if not rows:
        raise InvalidInput(f"{source}: line 1: a header but no rows; nothing to provision.")
    return rows


def provision_row(ctx: AppContext, actor: Actor, row: BatchRow, *, allow_unsafe_cluster: bool = False) -> RowResult:
    """Provision one row; its own failure is its result, never an exception (a cluster that
    fails its posture check too, unless `allow_unsafe_cluster`)."""
    if row.duplicate_of is not None:
        return RowResult(row.line, row.slug, ERROR, f"duplicate slug {row.slug!r} of line {row.duplicate_of} "
                                                    "in this file")
    try:
        tenant = tenants.provision(ctx, actor, row.slug, row.name, row.plan, cluster=row.cluster,
                                   owner_email=row.owner_email, endpoint_url=row.endpoint_url,
                                   allow_unsafe_cluster=allow_unsafe_cluster)
        return RowResult(row.line, row.slug, PROVISIONED, f"{tenant.schema} on {tenant.cluster}")
    except Conflict as exc:
        return _existing(ctx, actor, row, exc)
    except ControlPlaneError as exc:
        return RowResult(row.line, row.slug, ERROR, str(exc))


def _existing(ctx: AppContext, actor: Actor, row: BatchRow, conflict: Conflict) -> RowResult:
    """The slug is taken: done if the tenant is what the row asks for, else that row's error."""
    try:
        tenant = tenants.show(ctx, actor, row.slug)
    except ControlPlaneError:
        return RowResult(row.line, row.slug, ERROR, str(conflict))
    differences = differences_from(tenant, row)
    if tenant.status != Status.ACTIVE.value:
        differences.insert(0, f"status {tenant.status}")
    if differences:
        return RowResult(row.line, row.slug, ERROR, f"Tenant {row.slug!r} already exists with "
                                                    f"{'; '.join(differences)}.")
    return RowResult(row.line, row.slug, EXISTS, f"{tenant.schema} on {tenant.cluster}, already as asked")


def differences_from(tenant: TenantView, row: BatchRow) -> list[str]:
    """What differs between an existing tenant and a row, in words ("plan 'team', not 'free'")."""
    asked = {"name": row.name, "plan": row.plan, "cluster": row.cluster,
             "owner_email": row.owner_email.lower() if row.owner_email else None, "endpoint_url": row.endpoint_url}
    have = {"name": tenant.name, "plan": tenant.plan, "cluster": tenant.cluster,
            "owner_email": tenant.owner_email, "endpoint_url": tenant.endpoint_url}
    return [f"{field} {have[field]!r}, not {value!r}" for field, value in asked.items()
            if value is not None and value != have[field]]

