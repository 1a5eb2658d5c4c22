"""What every job receives. A job module exposes `run(context: JobContext) -> str` (a summary)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from control_plane.context import AppContext


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class JobContext:
    app: AppContext
    now: Callable[[], datetime] = _utcnow
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("jobs"))
    # Set when the run passed its timeout: a long job may check it between steps and stop early.
    cancelled: threading.Event = field(default_factory=threading.Event)
    run_id: int | None = None
