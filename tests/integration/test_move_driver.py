"""The app's view of who drives a move (control_plane/moves/driver.py): the driver's lock
seen from pg_locks, Resume refused while another process drives the move, and a move nobody
drives (as after an app restart) finished by Resume in a thread, between two real servers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from control_plane.db import advisory_locks
from control_plane.db.models import AuditEntry
from control_plane.errors import Conflict, Forbidden
from control_plane.moves import driver as move_driver
from control_plane.moves import service as moves
from control_plane.moves.service import MoveOptions
from control_plane.services import tenants
from tests.factories import make_tenant
from tests.polling import wait_for

FAST = MoveOptions(poll_s=0.02, sync_timeout_s=60, catchup_timeout_s=30)


def test_the_drivers_lock_is_seen_and_resume_is_refused_while_held(ctx, admin, support, cluster_b, new_slug):
    slug = new_slug("drv")
    make_tenant(ctx, slug)
    move = moves.request(ctx, admin, slug, "b", FAST)
    assert not move_driver.is_driven(ctx, support, move.id)
    with moves._driver_lock(ctx, move.id) as held:  # what drive() holds while it runs
        assert held
        assert move_driver.is_driven(ctx, support, move.id)
        assert not move_driver.is_driven(ctx, support, move.id + 1)
        with pytest.raises(Conflict, match="being driven by another process"):
            move_driver.resume(ctx, admin, move, FAST)
    assert not move_driver.is_driven(ctx, support, move.id)
    with pytest.raises(Forbidden):
        move_driver.resume(ctx, support, move, FAST)
    assert moves.cancel(ctx, admin, slug).status == "cancelled"
    with pytest.raises(Conflict, match="nothing to resume"):
        move_driver.resume(ctx, admin, moves.current(ctx, admin, slug), FAST)


def test_the_lock_is_seen_whatever_the_sign_of_its_key(ctx, support):
    """hashtextextended gives negative keys too: pg_locks splits them into two unsigned halves."""
    with ctx.clusters.connect(None, autocommit=True) as conn:
        signs = {conn.execute("SELECT hashtextextended(%s, 0) < 0", advisory_locks.move_driver(i).params).fetchone()[0]
                 for i in range(1, 21)}
    assert signs == {True, False}
    for move_id in range(1, 21):
        with moves._driver_lock(ctx, move_id):
            assert move_driver.is_driven(ctx, support, move_id), move_id
        assert not move_driver.is_driven(ctx, support, move_id)


def test_resume_finishes_a_move_nobody_drives(ctx, admin, cluster_b, new_slug):
    slug = new_slug("drv")
    make_tenant(ctx, slug)
    move = moves.request(ctx, admin, slug, "b", FAST)  # recorded; its process "stopped" before driving it
    move_driver.resume(ctx, admin, move, FAST)
    done = wait_for("the move to end", lambda: (m := moves.current(ctx, admin, slug)).status != "running" and m,
                    seconds=90)
    assert done.status == "completed", done.error
    assert tenants.show(ctx, admin, slug).cluster == "b"
    assert not move_driver.is_driven(ctx, admin, move.id)
    with ctx.session_factory() as s:
        assert s.scalar(select(AuditEntry.actor).where(AuditEntry.action == "tenant.move.resume")) == admin.name
