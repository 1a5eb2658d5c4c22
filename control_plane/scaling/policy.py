"""The capacity policy, as a pure function of what CloudWatch and RDS said.

The policy (docs/scaling.md "Aurora capacity policy" is the reference):
- raise the maximum ACU when ACUUtilization stayed >= 80% for the last 15 minutes (its minimum
  over the window is >= 80% and the window is covered by data);
- lower it when ACUUtilization stayed <= 30% for the last 6 hours (its maximum over the window),
  never below the highest capacity actually used in that window;
- a change doubles or halves the maximum, by at most `max_step` ACU, always within the
  cluster's floor and ceiling; the minimum follows only when it would exceed the new maximum;
- nothing changes within `cooldown` of the last applied change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

HALF = Decimal("0.5")


@dataclass(frozen=True)
class PolicyConfig:
    up_threshold_pct: float = 80.0
    up_window: timedelta = timedelta(minutes=15)
    down_threshold_pct: float = 30.0
    down_window: timedelta = timedelta(hours=6)
    cooldown: timedelta = timedelta(minutes=15)
    max_step_acu: Decimal = Decimal("8")
    # Share of the window's one-minute datapoints that must be present before we trust it.
    min_coverage: float = 0.6


@dataclass(frozen=True)
class Observation:
    current_min: Decimal
    current_max: Decimal
    floor: Decimal
    ceiling: Decimal
    util_min_up_window: float | None  # Minimum of ACUUtilization over the up window
    util_samples_up_window: int
    util_max_down_window: float | None  # Maximum of ACUUtilization over the down window
    util_samples_down_window: int
    capacity_peak_down_window: float | None  # Maximum of ServerlessDatabaseCapacity
    capacity_latest: float | None
    last_change_at: datetime | None


@dataclass(frozen=True)
class Decision:
    action: str  # scale_up | scale_down | no_change
    new_min: Decimal
    new_max: Decimal
    reason: str
    blocked_by_cooldown: bool = False
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        return self.action != "no_change"


def round_up(value: Decimal | float) -> Decimal:
    return (Decimal(str(value)) / HALF).to_integral_value(rounding=ROUND_CEILING) * HALF


def round_down(value: Decimal | float) -> Decimal:
    return (Decimal(str(value)) / HALF).to_integral_value(rounding=ROUND_FLOOR) * HALF


def _covered(samples: int, window: timedelta, coverage: float) -> bool:
    expected = window.total_seconds() / 60
    return samples >= max(1, math.ceil(expected * coverage))


def decide(obs: Observation, cfg: PolicyConfig, now: datetime) -> Decision:
    floor, ceiling = round_up(obs.floor), round_down(obs.ceiling)
    inputs = _inputs(obs, cfg)

    def result(action: str, new_min: Decimal, new_max: Decimal, reason: str) -> Decision:
        cooling = (action != "no_change" and obs.last_change_at is not None
                   and now - obs.last_change_at < cfg.cooldown)
        if cooling:
            until = obs.last_change_at + cfg.cooldown
            reason = f"{reason}; held back by cooldown until {until:%Y-%m-%d %H:%M} UTC"
        return Decision(action, new_min, new_max, reason, blocked_by_cooldown=cooling, inputs=inputs)

    # Bounds first: a cluster configured outside its floor/ceiling is brought back inside.
    if obs.current_max > ceiling or obs.current_max < floor or obs.current_min < floor:
        new_max = min(max(obs.current_max, floor), ceiling)
        new_min = min(max(obs.current_min, floor), new_max)
        action = "scale_down" if new_max < obs.current_max else "scale_up"
        return result(action, new_min, new_max,
                      f"current {obs.current_min}-{obs.current_max} ACU is outside the cluster's bounds "
                      f"{floor}-{ceiling} ACU")

    up_known = obs.util_min_up_window is not None and _covered(obs.util_samples_up_window, cfg.up_window,
                                                               cfg.min_coverage)
    if up_known and obs.util_min_up_window >= cfg.up_threshold_pct:
        if obs.current_max >= ceiling:
            return result("no_change", obs.current_min, obs.current_max,
                          f"utilisation stayed >= {cfg.up_threshold_pct:g}% for {_span(cfg.up_window)} but the "
                          f"maximum is already at the ceiling ({ceiling} ACU)")
        step = min(cfg.max_step_acu, max(obs.current_max, HALF))
        new_max = min(ceiling, round_up(obs.current_max + step))
        return result("scale_up", obs.current_min, new_max,
                      f"utilisation stayed >= {cfg.up_threshold_pct:g}% for {_span(cfg.up_window)} "
                      f"(lowest {obs.util_min_up_window:.1f}%)")

    down_known = obs.util_max_down_window is not None and _covered(obs.util_samples_down_window, cfg.down_window,
                                                                   cfg.min_coverage)
    if down_known and obs.util_max_down_window <= cfg.down_threshold_pct:
        used = max(obs.capacity_peak_down_window or 0.0, obs.capacity_latest or 0.0)
        step = min(cfg.max_step_acu, round_down(obs.current_max / 2))
        target = max(obs.current_max - step, round_up(used), floor)
        new_max = min(target, obs.current_max)
        if new_max >= obs.current_max:
            why = "the floor" if floor >= obs.current_max else f"capacity in use ({used:g} ACU)"
            return result("no_change", obs.current_min, obs.current_max,
                          f"utilisation stayed <= {cfg.down_threshold_pct:g}% for {_span(cfg.down_window)} but "
                          f"the maximum cannot go lower without going below {why}")
        return result("scale_down", min(obs.current_min, new_max), new_max,
                      f"utilisation stayed <= {cfg.down_threshold_pct:g}% for {_span(cfg.down_window)} "
                      f"(highest {obs.util_max_down_window:.1f}%), peak use {used:g} ACU")

    if obs.util_min_up_window is None and obs.util_max_down_window is None:
        reason = "no ACUUtilization data in CloudWatch for this cluster"
    elif not up_known and not down_known:
        reason = "not enough recent ACUUtilization datapoints to decide"
    else:
        reason = "utilisation within thresholds"
    return result("no_change", obs.current_min, obs.current_max, reason)


def _span(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _inputs(obs: Observation, cfg: PolicyConfig) -> dict[str, Any]:
    return {
        "util_min_15m": obs.util_min_up_window, "util_samples_15m": obs.util_samples_up_window,
        "util_max_6h": obs.util_max_down_window, "util_samples_6h": obs.util_samples_down_window,
        "capacity_peak_6h": obs.capacity_peak_down_window, "capacity_latest": obs.capacity_latest,
        "floor": str(obs.floor), "ceiling": str(obs.ceiling),
        "up_threshold_pct": cfg.up_threshold_pct, "down_threshold_pct": cfg.down_threshold_pct,
        "up_window_min": cfg.up_window.total_seconds() / 60, "down_window_min": cfg.down_window.total_seconds() / 60,
        "cooldown_min": cfg.cooldown.total_seconds() / 60, "max_step_acu": str(cfg.max_step_acu),
        "last_change_at": obs.last_change_at.isoformat() if obs.last_change_at else None,
    }
