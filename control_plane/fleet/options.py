"""What a run was asked to do; stored with it (migration_runs.options) so a resumed run carries on
with the same settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from control_plane.errors import InvalidInput
from control_plane.fleet.apply import Limits
from control_plane.fleet.planner import DEFAULT_WAVES

MAX_SOAK_SECONDS = 7 * 86400


@dataclass(frozen=True)
class Options:
    target: int | None = None  # default: the latest revision
    waves: tuple[int, ...] = DEFAULT_WAVES
    soak_seconds: int = 600
    max_failures: int = 0
    tenants: tuple[str, ...] | None = None
    allow_contract: bool = False
    canary_enterprise: bool = False
    concurrency: int = 2  # per cluster
    lock_timeout_ms: int = 2000
    statement_timeout_ms: int = 60_000
    tries: int = 3

    def __post_init__(self) -> None:
        for name, low, high in (("soak_seconds", 0, MAX_SOAK_SECONDS), ("max_failures", 0, 1_000_000),
                                ("concurrency", 1, 32), ("lock_timeout_ms", 1, 600_000),
                                ("statement_timeout_ms", 1, 86_400_000), ("tries", 1, 20)):
            value = getattr(self, name)
            if not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(f"{name.replace('_', ' ')} must be a whole number from {low} to {high} "
                                   f"(got {value!r}).")

    def limits(self, backoff_max_s: float = 2.0) -> Limits:
        return Limits(lock_timeout_ms=self.lock_timeout_ms, statement_timeout_ms=self.statement_timeout_ms,
                      tries=self.tries, backoff_max_s=backoff_max_s, allow_contract=self.allow_contract)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["waves"] = list(self.waves)
        data["tenants"] = list(self.tenants) if self.tenants is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Options:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["waves"] = tuple(values.get("waves") or DEFAULT_WAVES)
        if values.get("tenants") is not None:
            values["tenants"] = tuple(values["tenants"])
        return cls(**values)


def parse_duration(text: str) -> int:
    """'10m', '30s', '1h', '0' → seconds."""
    raw = str(text).strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if raw and raw[-1] in units:
            seconds = int(raw[:-1]) * units[raw[-1]]
        else:
            seconds = int(raw)
    except ValueError:
        raise InvalidInput(f"--soak must be a duration such as 10m, 30s, 1h or 0 (got {text!r}).") from None
    if not 0 <= seconds <= MAX_SOAK_SECONDS:
        raise InvalidInput(f"--soak must be between 0 and 7 days (got {text!r}).")
    return seconds
