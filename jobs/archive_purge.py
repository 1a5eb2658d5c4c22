"""Job `archive_purge` (daily): delete tenant archives past their retention period."""

from __future__ import annotations

from control_plane.services.purge import purge_archives
from jobs.context import JobContext


def run(context: JobContext) -> str:
    return purge_archives(context.app, context.now()).summary()
