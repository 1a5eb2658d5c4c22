"""Where each alert kind is explained: a section of docs/runbook.md, by its anchor. The inbox,
the Alerts tab and the CLI link items here; a test holds every anchor to a heading that exists."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from control_plane.uptime import slo

RUNBOOK = "docs/runbook.md"
_FILE = Path(__file__).resolve().parents[2] / RUNBOOK

# alert kinds as stored (control_plane.alerts.kind) and the inbox's own kinds
ANCHORS: dict[str, str] = {
    "fast_burn": "fast-burn",
    "slow_burn": "slow-burn",
    "incident": "target-down",
    "incident_opened": "target-down",
    "incident_resolved": "target-down",
    "target_down": "target-down",
    "out_of_budget": "out-of-error-budget",
    "drift": "reconcile-drift",
    "cluster_posture": "cluster-posture",
    "noisy_neighbour": "noisy-neighbour",
    "schema_drift": "schema-drift",
    "migration_halted": "migration-halted",
}
HANDLING = "handling-an-item"


def burn_kind(window: slo.BurnWindow) -> str:
    """Paging windows (1 h/5 min, 6 h/30 min) are a fast burn, the ticket window (3 d/6 h) a slow one."""
    return "fast_burn" if window.severity == "page" else "slow_burn"


def anchor(kind: str, message: str | None = None) -> str:
    """The section for a stored alert kind (a burn-rate alert by the window its message names)
    or an inbox kind; the handling section for a kind without one of its own."""
    if kind == "burn_rate":
        return ANCHORS["slow_burn"] if message and message.startswith("[3d/") else ANCHORS["fast_burn"]
    return ANCHORS.get(kind, HANDLING)


def ref(kind: str, message: str | None = None) -> str:
    return f"{RUNBOOK}#{anchor(kind, message)}"


def slugify(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def for_screen(anchor: str) -> str:
    """A section as the app shows it: its links (to other files of docs/, which the app does not
    serve) reduced to their text; the caption beside it names the file."""
    return _LINK.sub(r"\1", sections().get(anchor, f"See {RUNBOOK}."))


@cache
def sections() -> dict[str, str]:
    """Anchor -> the Markdown of that `## ` section (heading left out)."""
    out: dict[str, str] = {}
    current: str | None = None
    for line in _FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = slugify(line[3:])
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return {k: v.strip() for k, v in out.items()}
