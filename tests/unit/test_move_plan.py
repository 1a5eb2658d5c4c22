"""The steps of a move are one table (moves/plan.py); the lists the ledger stores and the driver
resumes from are read off it and keep the names and order the catalog already holds."""

from __future__ import annotations

from control_plane.moves import ledger, plan


def test_the_step_lists_are_those_stored_before():
    assert ledger.ONLINE_STEPS == plan.steps_of("online") == (
        "target_prepared", "published", "subscribed", "synchronised", "writes_blocked", "caught_up",
        "sequences_copied", "verified", "switched", "cleaned_up")
    assert ledger.OFFLINE_STEPS == plan.steps_of("offline") == (
        "target_prepared", "writes_blocked", "copied", "sequences_copied", "verified", "switched", "cleaned_up")
    assert ledger.CUTOVER == plan.CUTOVER == "switched"
    assert plan.PAST_CUTOVER == ("switched", "cleaned_up")
    assert plan.REPLICATING == ("subscribed", "synchronised", "writes_blocked", "caught_up", "sequences_copied",
                                "verified")


def test_every_step_has_its_words_and_its_work():
    assert set(plan.LABELS) == {plan.REQUESTED, *plan.BY_NAME}
    assert all(callable(s.run) and s.label and s.modes for s in plan.STEPS)
