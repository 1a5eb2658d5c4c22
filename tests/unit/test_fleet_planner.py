"""Wave planning: deterministic, demo first, spread over plans and clusters, enterprise out of the
canary unless asked; wave and soak parsing."""

from __future__ import annotations

import pytest

from control_plane.errors import InvalidInput
from control_plane.fleet import health
from control_plane.fleet.options import parse_duration
from control_plane.fleet.planner import Candidate, parse_waves, split
from control_plane.tenant_schema.revisions import DEFAULT, Catalog


def _fleet() -> list[Candidate]:
    out = []
    for i in range(200):
        plan = ("free", "team", "business", "enterprise")[i % 4]
        out.append(Candidate(f"t{i:03d}", "active", 1, plan, ("default", "east")[i % 2], is_demo=False))
    return [*out, Candidate("demo_a", "active", 1, "team", "default", True)]


def test_the_plan_is_deterministic_and_covers_every_tenant_once():
    first, again = split(_fleet(), (5, 25, 100)), split(list(reversed(_fleet())), (5, 25, 100))
    assert [[c.slug for c in w] for w in first] == [[c.slug for c in w] for w in again]
    assert [len(w) for w in first] == [11, 40, 150]
    assert sorted(c.slug for w in first for c in w) == sorted(c.slug for c in _fleet())


def test_the_canary_starts_with_demo_tenants_spreads_over_plans_and_clusters_and_skips_enterprise():
    canary = split(_fleet(), (5, 25, 100))[0]
    assert canary[0].slug == "demo_a"
    assert {c.plan for c in canary} == {"free", "team", "business"}
    assert {c.cluster for c in canary} == {"default", "east"}
    with_enterprise = split(_fleet(), (5, 25, 100), canary_enterprise=True)[0]
    assert "enterprise" in {c.plan for c in with_enterprise}


def test_a_tiny_fleet_has_a_canary_of_one_and_no_empty_wave():
    two = _fleet()[:2]
    assert [len(w) for w in split(two, (5, 25, 100))] == [1, 1]
    assert split([], (5, 25, 100)) == []


@pytest.mark.parametrize("text", ["", "5,25", "25,5,100", "0,100", "5,5,100", "x", "101", "-5,100", "5;100"])
def test_bad_waves_are_refused(text):
    with pytest.raises(InvalidInput):
        parse_waves(text)


def test_waves_and_durations_parse():
    assert parse_waves("5%, 25%, 100") == (5, 25, 100)
    assert [parse_duration(t) for t in ("10m", "30s", "1h", "0", "45")] == [600, 30, 3600, 0, 45]


def test_revision_list_must_be_numbered_without_gaps():
    with pytest.raises(ValueError, match="without gaps"):
        Catalog((DEFAULT.revisions[0], DEFAULT.revisions[2]))
    assert DEFAULT.between(1, 3) == list(DEFAULT.revisions[1:3]) and DEFAULT.reversible(3, 1)


def test_health_verdicts():
    calm = health.GroupHealth(10, 100, 0, 0, 20.0)
    assert not health.judge(calm, calm).breach
    failing = health.GroupHealth(1, 3, 3, 0, 20.0)
    assert health.judge(failing, calm).reasons[0].startswith("failed checks 100.0%")
    slow = health.GroupHealth(1, 10, 0, 0, 200.0)
    assert "p95 latency 200 ms" in health.judge(slow, calm).reasons[0]
    incident = health.GroupHealth(1, 10, 0, 1, 20.0)
    assert "1 incident(s)" in health.judge(incident, calm).reasons[0]
