"""The Tenants page's CSV of the filtered list, written row by row from a server-side cursor into
a spooled file: the whole fleet (20,000 tenants, issue 19) is never a list or a frame in memory.
Every cell through csv_safety (docs/security.md "Untrusted input"; docs/lifecycle.md "Listing tenants
at fleet scale")."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import UTC, datetime
from typing import IO, Any

from control_plane import csv_safety
from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.services import tenants as tenant_service

COLUMNS = ("slug", "name", "status", "plan", "cluster", "owner_email", "created_at", "status_reason", "is_demo")
_IN_MEMORY = 4 * 1024 * 1024  # larger than this, the spooled file moves to disk


def _text(value: Any) -> Any:
    if isinstance(value, datetime):  # as the page's frame wrote it: UTC, space-separated
        return value.astimezone(UTC).isoformat(sep=" ")
    return csv_safety.cell(value)


def tenants_csv(ctx: AppContext, actor: Actor, *, status: str | None = None, plan: str | None = None,
                cluster: str | None = None, search: str | None = None) -> IO[bytes]:
    """A binary file at its start holding the CSV (header first) of every tenant the filters match."""
    rows = tenant_service.stream_tenants(ctx, actor, status=status, plan=plan, cluster=cluster, search=search)
    out = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY, mode="w+b")
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for tenant in rows:
        writer.writerow([_text(getattr(tenant, c)) for c in COLUMNS])
    text.flush()
    text.detach()  # the wrapper goes, the file stays open for the reader
    out.seek(0)
    return out
