"""Waiting in tests: poll a check until it answers something truthy, with a deadline (never a
bare sleep); a timeout fails the test naming what it waited for.

`READY_SECONDS` is the one default for every readiness wait on a browser, a server or a process
(tests/e2e's Playwright timeouts, tests/jobs' worker waits): sized for a busy 2-core machine running
other work beside the suite, where a page or a process can take many times its idle speed. Polling
returns as soon as the thing is ready, so a generous deadline costs nothing when all is well."""

from __future__ import annotations

import time
from collections.abc import Callable

READY_SECONDS = 60.0
READY_MS = int(READY_SECONDS * 1000)  # the same, as Playwright counts


def wait_for(what: str, check: Callable[[], object], seconds: float = READY_SECONDS, *,
             explain: Callable[[], str] | None = None) -> object:
    """`explain` adds what helps read a timeout (a worker's log) to the failure message."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{explain()}" if explain else ""))
