"""Job `archive_purge` (daily): delete tenant archives past their retention period, the source
schemas that moved tenants left behind once theirs has ended (docs/moves.md "Retention and purge"),
and the work folders of archive/restore runs whose process died (kill -9 leaves unencrypted dumps there)."""

from __future__ import annotations

from control_plane.archive import workdir
from control_plane.archive.purge import purge_archives
from control_plane.moves.retention import purge_moved_schemas
from control_plane.scheduler.context import JobContext


def run(context: JobContext) -> str:
    moved = purge_moved_schemas(context.app, context.now())  # first: it needs no S3, which may be failing
    summary = purge_archives(context.app, context.now()).summary()
    if moved.dropped or moved.problems:
        summary += ", " + moved.summary()
    parent = context.app.settings.work_dir or workdir.default_parent()
    stale = workdir.clean_stale(parent)
    return summary + (f", {len(stale)} stale archive work folders removed" if stale else "")
