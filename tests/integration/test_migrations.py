"""The migrations and the models describe the same catalog; a new catalog has its seed rows."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from control_plane.db import migrate
from control_plane.db.models import SCHEMA, Base, Cluster, Plan


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
