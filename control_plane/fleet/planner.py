"""Which tenants go in which wave (docs/migrations.md "Waves").

Deterministic: the same fleet gives the same plan. Demo tenants go first; the rest are spread
over (plan, cluster) groups in turn, each group in the order of a hash of the slug, so a canary
of 5% touches every plan and cluster it can. Enterprise tenants are kept out of the canary unless
asked (they are in the canary only when nothing else is left to put there).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass

from control_plane.errors import InvalidInput

DEFAULT_WAVES = (5, 25, 100)
ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class Candidate:
    slug: str
    status: str
    version: int
    plan: str
    cluster: str
    is_demo: bool


def parse_waves(text: str) -> tuple[int, ...]:
    """'5,25,100' → (5, 25, 100): cumulative percentages, rising, ending at 100."""
    try:
        waves = tuple(int(part.strip().removesuffix("%")) for part in str(text).split(","))
    except ValueError:
        raise InvalidInput(f"--waves must be percentages separated by commas, such as 5,25,100 (got {text!r}).") \
            from None
    if not waves or len(waves) > 20 or any(not 1 <= w <= 100 for w in waves) or list(waves) != sorted(set(waves)) \
            or waves[-1] != 100:
        raise InvalidInput(f"--waves must rise from 1 to 100 and end at 100, such as 5,25,100 (got {text!r}).")
    return waves


def _rank(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def order(candidates: list[Candidate]) -> list[Candidate]:
    """Demo tenants first, then one of each (plan, cluster) group in turn."""
    demo = sorted((c for c in candidates if c.is_demo), key=lambda c: _rank(c.slug))
    groups: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for c in candidates:
        if not c.is_demo:
            groups[(c.plan, c.cluster)].append(c)
    queues = [sorted(g, key=lambda c: _rank(c.slug)) for _, g in sorted(groups.items(),
                                                                        key=lambda kv: _rank("/".join(kv[0])))]
    spread: list[Candidate] = []
    for i in range(max((len(q) for q in queues), default=0)):
        spread.extend(q[i] for q in queues if i < len(q))
    return demo + spread


def split(candidates: list[Candidate], waves: tuple[int, ...], *, canary_enterprise: bool = False
          ) -> list[list[Candidate]]:
    """The tenants of each wave (empty waves dropped): wave i holds up to ceil(n × waves[i] / 100)
    tenants in all, the first at least 1."""
    ordered = order(candidates)
    n = len(ordered)
    if n == 0:
        return []
    cuts = [min(n, max(1, math.ceil(n * pct / 100))) for pct in waves]
    canary_size = cuts[0]
    eligible = [c for c in ordered if canary_enterprise or c.plan != ENTERPRISE]
    canary = eligible[:canary_size] or ordered[:canary_size]
    chosen = {c.slug for c in canary}
    rest = [c for c in ordered if c.slug not in chosen]
    result, taken = [canary], len(canary)
    for cut in cuts[1:]:
        if cut > taken:
            result.append(rest[: cut - taken])
            rest, taken = rest[cut - taken:], cut
    if rest:
        result[-1].extend(rest)
    return [w for w in result if w]
