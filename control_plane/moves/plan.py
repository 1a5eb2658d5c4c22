"""The steps of a move, in one table (docs/moves.md "Steps"): which modes take each, its words
on the page, whether the source is being replicated after it, and what it does. The step lists of
the ledger, the driver's resume checks and the page's labels are all read from here; a step's
name is what `tenant_moves.step` stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from control_plane.errors import Conflict
from control_plane.moves import steps

if TYPE_CHECKING:
    from control_plane.db.models import TenantMove

REQUESTED = "requested"  # stored before the first step: checked and recorded
CUTOVER = "switched"  # from here on the tenant lives on the target: no cancel, no undo
ONLINE, OFFLINE = "online", "offline"


@dataclass(frozen=True)
class MoveOptions:
    offline: bool = False
    sync_timeout_s: float = 3600.0  # initial copy plus catch-up, before writes are blocked
    catchup_timeout_s: float = 60.0  # after writes are blocked: the subscriber reaching the source
    poll_s: float = 0.05
    lock_timeout_ms: int = 2000  # waiting for the tenant's last writers at the cut-over


@dataclass(frozen=True)
class StepRun:
    """What a step works with: the move, its two clusters, the options, and what only the driver
    can do (record, switch the catalog, tell the time)."""

    move: TenantMove
    ends: steps.Ends
    options: MoveOptions
    progress: Callable[[str], None]
    check: Callable[[], None]  # raises MoveAborted once a cancel was asked for
    now: Callable[[], datetime]
    retention_days: int
    mark_writes_blocked: Callable[[], None]
    switch: Callable[[], None]


@dataclass(frozen=True)
class Step:
    name: str
    modes: frozenset[str]
    label: str
    run: Callable[[StepRun], dict[str, Any]]
    # After it the subscription reads the source as the move's own role: a resumed move makes sure
    # that role is there (`cleaned_up` drops it, and so does an undo).
    replicating: bool = False


def _prepare_target(r: StepRun) -> dict[str, Any]:
    found = steps.source_version(r.ends)
    if found != r.move.template_version:
        raise Conflict(f"Tenant {r.move.tenant_slug}'s schema on {r.move.source_cluster} is at template "
                       f"version {found}, the catalog says {r.move.template_version}; see `tenants "
                       "verify-schemas`. Cancel this move, fix the drift, then move again.")
    steps.prepare_target(r.ends, r.move.template_version)
    return {}


def _block_writes(r: StepRun) -> dict[str, Any]:
    r.mark_writes_blocked()
    lsn = steps.block_writes(r.ends, r.options.lock_timeout_ms)
    r.progress("writes blocked")
    return {"cutover_lsn": lsn}


def _clean_up(r: StepRun) -> dict[str, Any]:
    steps.drop_replication(r.ends)
    move = r.move
    retained = f"moved_{move.id}_{move.tenant_slug}"
    until = r.now() + timedelta(days=r.retention_days)
    steps.retire_source(r.ends, retained, f"control plane: tenant {move.tenant_slug} moved to cluster "
                                          f"{move.target_cluster} (move #{move.id}); kept read-only until "
                                          f"{until:%Y-%m-%d}, then purged")
    return {"retained_schema": retained, "retain_until": until}


def _nothing_back(action: Callable[[StepRun], object]) -> Callable[[StepRun], dict[str, Any]]:
    def run(r: StepRun) -> dict[str, Any]:
        action(r)
        return {}
    return run


_BOTH, _ONLINE, _OFFLINE = frozenset({ONLINE, OFFLINE}), frozenset({ONLINE}), frozenset({OFFLINE})
# In the order they run; each mode takes the ones marked for it.
STEPS: tuple[Step, ...] = (
    Step("target_prepared", _BOTH, "Schema prepared on the target", _prepare_target),
    Step("published", _ONLINE, "Publication on the source", _nothing_back(lambda r: steps.publish(r.ends))),
    Step("subscribed", _ONLINE, "Subscription with the initial copy",
         _nothing_back(lambda r: steps.subscribe(r.ends)), replicating=True),
    Step("synchronised", _ONLINE, "Every table copied and streaming", _nothing_back(
        lambda r: steps.wait_synchronised(r.ends, r.options.sync_timeout_s, r.options.poll_s, r.progress, r.check)),
         replicating=True),
    Step("writes_blocked", _BOTH, "Writes blocked (cut-over)", _block_writes, replicating=True),
    Step("caught_up", _ONLINE, "Target caught up with the source", _nothing_back(
        lambda r: steps.wait_caught_up(r.ends, r.move.cutover_lsn or "0/0", r.options.catchup_timeout_s,
                                       r.options.poll_s, r.check)), replicating=True),
    Step("copied", _OFFLINE, "Tables copied", lambda r: {"verification": {"copied_rows": steps.copy_data(r.ends)}}),
    Step("sequences_copied", _BOTH, "Sequences copied", _nothing_back(lambda r: steps.copy_sequences(r.ends)),
         replicating=True),
    Step("verified", _BOTH, "Row counts and checksums equal",
         lambda r: {"verification": steps.verify(r.ends, r.move.template_version)}, replicating=True),
    # Recorded with the catalog switch, in its transaction (not by the driver's loop).
    Step(CUTOVER, _BOTH, "Catalog switched to the target", _nothing_back(lambda r: r.switch())),
    Step("cleaned_up", _BOTH, "Replication removed, source kept read-only", _clean_up),
)
BY_NAME: dict[str, Step] = {s.name: s for s in STEPS}
ONLINE_STEPS = tuple(s.name for s in STEPS if ONLINE in s.modes)
OFFLINE_STEPS = tuple(s.name for s in STEPS if OFFLINE in s.modes)
# A move at one of these lives on the target: no cancel, no undo.
PAST_CUTOVER = tuple(s.name for s in STEPS[[s.name for s in STEPS].index(CUTOVER):])
REPLICATING = tuple(s.name for s in STEPS if s.replicating)
LABELS = {REQUESTED: "Checked and recorded", **{s.name: s.label for s in STEPS}}


def steps_of(mode: str) -> tuple[str, ...]:
    return ONLINE_STEPS if mode == ONLINE else OFFLINE_STEPS
