"""What the cut-over's speed-ups must keep (docs/moves.md "Cut-over"; figures from
bench/tenant_move.py): the subscription confirms applied writes at once (synchronous_commit on),
and the cheaper per-table checksum still tells every kind of difference."""

from __future__ import annotations

import pytest
from psycopg import sql

from control_plane.moves import service
from control_plane.moves.service import MoveOptions
from tests.conftest import CLUSTER_B_URL_ENV
from tests.factories import make_tenant
from tests.integration.move_helpers import contents, fill, schema_of

FAST = MoveOptions(poll_s=0.02, sync_timeout_s=60, catchup_timeout_s=30)


class Crash(Exception):
    """Stands for the driving process dying right after a step."""


def test_subscription_confirms_applied_writes_without_waiting_for_the_wal_writer(ctx, admin, cluster_b, new_slug):
    slug = new_slug("ms")
    make_tenant(ctx, slug)

    def crash_after_subscribing(step: str) -> None:
        if step == "subscribed":
            raise Crash(step)

    with pytest.raises(Crash):
        service.start(ctx, admin, slug, "b", FAST, fault=crash_after_subscribing)
    move = service.current(ctx, admin, slug)
    with ctx.clusters.connect(CLUSTER_B_URL_ENV, autocommit=True) as conn:
        found = conn.execute("SELECT subsynccommit FROM pg_subscription WHERE subname = %s",
                             (f"cp_move_{move.id}",)).fetchone()
    assert found == ("on",)
    assert service.cancel(ctx, admin, slug).status == "cancelled"


def test_checksum_tells_a_changed_value_a_swap_and_a_replaced_row(ctx, new_slug):
    slug = new_slug("mk")
    make_tenant(ctx, slug)
    fill(ctx.clusters, None, slug)
    schema = schema_of(slug)
    events = sql.Identifier(schema, "events")

    def checksum() -> list:
        return contents(ctx.clusters, None, schema)["events"]

    def change(statement: str, *params: str) -> list:
        with ctx.clusters.connect(None) as conn:
            for one in statement.split("; "):
                conn.execute(sql.SQL(one).format(t=events), params or None)
        return checksum()

    original = checksum()
    with ctx.clusters.connect(None, autocommit=True) as conn:
        first, second = (r[0] for r in conn.execute(
            sql.SQL("SELECT payload::text FROM {t} WHERE id IN (1, 2) ORDER BY id").format(t=events)))
    assert change("UPDATE {t} SET kind = 'seeD' WHERE id = 1") != original
    assert change("UPDATE {t} SET kind = 'seed' WHERE id = 1") == original
    # the same values in other rows: a digest over columns alone would not see it
    swapped = change("UPDATE {t} SET payload = CASE id WHEN 1 THEN %s::jsonb ELSE %s::jsonb END WHERE id IN (1, 2)",
                     second, first)
    assert swapped[0] == original[0] and swapped != original
    assert change("UPDATE {t} SET payload = CASE id WHEN 1 THEN %s::jsonb ELSE %s::jsonb END WHERE id IN (1, 2)",
                  first, second) == original
    # one row gone and another in its place: same count, different data
    replaced = change("DELETE FROM {t} WHERE id = 3; INSERT INTO {t} (kind) VALUES ('seed')")
    assert replaced[0] == original[0] and replaced != original
