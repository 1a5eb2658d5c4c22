"""The scheduler inside the app process (embedded default), under the same leader lock as the
worker: if a separate worker is running it stays a standby, and takes over if that one dies."""

from __future__ import annotations

import atexit
import logging
import threading

from control_plane.context import AppContext

log = logging.getLogger(__name__)
_lock = threading.Lock()
_started: dict[str, object] = {}


def start_in_process(ctx: AppContext) -> None:
    """Start the scheduler in a background thread once per process (later calls do nothing)."""
    from control_plane.scheduler.registry import for_settings
    from control_plane.scheduler.worker import Worker

    with _lock:
        if "thread" in _started:
            return
        stop = threading.Event()
        worker = Worker(ctx, for_settings(ctx.settings))
        thread = threading.Thread(target=worker.run, args=(stop,), name="jobs-in-process", daemon=True)
        thread.start()
        _started.update(thread=thread, stop=stop, worker=worker)
        atexit.register(stop.set)
        log.info("in-process scheduler started (leader election with any separate worker)")
