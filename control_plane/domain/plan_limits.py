"""What each plan allows, shown beside a tenant's usage on its page. Display only: nothing is
enforced or billed from these figures. They are illustrative (docs/tenant-page.md "Plan allowances");
change them here when the price list changes. A plan missing here is shown without allowances."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024**2
GIB = 1024**3


@dataclass(frozen=True)
class Allowance:
    storage_bytes: int
    requests_per_day: int


ALLOWANCES: dict[str, Allowance] = {
    "free": Allowance(storage_bytes=100 * MIB, requests_per_day=2_000),
    "starter": Allowance(storage_bytes=1 * GIB, requests_per_day=20_000),
    "team": Allowance(storage_bytes=10 * GIB, requests_per_day=100_000),
    "business": Allowance(storage_bytes=50 * GIB, requests_per_day=500_000),
    "enterprise": Allowance(storage_bytes=500 * GIB, requests_per_day=5_000_000),
}


def allowance_of(plan: str) -> Allowance | None:
    return ALLOWANCES.get(plan)
