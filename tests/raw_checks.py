"""Reading raw checks in tests, whichever form (recent rows or hour rows) they are stored in."""

from __future__ import annotations

from sqlalchemy import text

from control_plane.uptime import raw


def stored(session, targets: list[str] | None = None) -> list:
    """Every raw check (optionally of some targets) in time order: rows with target, tenant_slug,
    checked_at, ok, latency_ms, error."""
    condition = raw.ids_of("targets") if targets is not None else None
    return list(session.execute(text(
        f"SELECT c.target, c.tenant_slug, c.checked_at, c.ok, c.latency_ms, c.error "
        f"FROM {raw.source(raw.NO_START, raw.NO_END, target=condition)} c ORDER BY c.checked_at, c.target"),
        {"targets": targets}))


def count(session, targets: list[str] | None = None) -> int:
    return len(stored(session, targets))


def forms(session) -> tuple[int, int]:
    """(recent rows, hour rows) as stored."""
    return (session.execute(text(f"SELECT count(*) FROM {raw.RECENT}")).scalar_one(),
            session.execute(text(f"SELECT count(*) FROM {raw.HOURS}")).scalar_one())
