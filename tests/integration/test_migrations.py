"""The migrations and the models describe the same catalog; a new catalog has its seed rows."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from control_plane.db import migrate
from control_plane.db.models import SCHEMA, Base, Cluster, Plan
from control_plane.fleet import queries


def test_models_match_migrations(session_ctx):
    with session_ctx.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={
            "include_schemas": True, "version_table_schema": SCHEMA,
            "include_name": lambda name, type_, parent: type_ != "schema" or name == SCHEMA,
        })
        diff = compare_metadata(mc, Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_seeds_plans_and_default_cluster(ctx):
    migrate.upgrade(ctx.engine)
    migrate.upgrade(ctx.engine)
    with ctx.session_factory() as s:
        assert list(s.scalars(select(Plan.code).order_by(Plan.sort_order))) == [
            "free", "starter", "team", "business", "enterprise"]
        default = s.get(Cluster, "default")
        assert default is not None and default.url_env is None


def test_nothing_to_do_reads_an_index_not_the_whole_tenants_table(session_ctx):
    """docs/migrations.md "Ledger": whatever the number of tenants, "is anything below version V?"
    is one index probe; the planner is told to avoid a table scan it could otherwise prefer on a
    small test catalog."""
    with session_ctx.session_factory() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(session.scalars(text("EXPLAIN " + queries.ANY_BELOW), {"target": 3}))
    assert "ix_tenants_version_or_first" in plan, plan
