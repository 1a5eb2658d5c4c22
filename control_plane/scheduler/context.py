"""What every job receives. A job module exposes `run(context: JobContext) -> str` (a summary)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from control_plane.clock import Clock, utcnow
from control_plane.context import AppContext


@dataclass
class JobContext:
    app: AppContext
    now: Clock = utcnow
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("jobs"))
    # Set when the run passed its timeout: a long job may check it between steps and stop early.
    cancelled: threading.Event = field(default_factory=threading.Event)
    run_id: int | None = None
