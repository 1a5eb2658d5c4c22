"""uptime: compact raw checks (≈ 18 instead of ≈ 169 bytes per check)

A row per check costs ~28 bytes of PostgreSQL overhead before any data, and a B-tree on
(target, checked_at) another ~30; at 2,000 targets checked every minute that alone is ~240 MB a
day. Raw checks now live in two forms:

- `check_targets`: each target name once, with its tenant and kind, under a small int id.
- `recent_checks`: one narrow row per check, for the last hour or two only (the sweep appends
  here; the roll-up job moves finished hours out). Its size is bounded, not a daily growth.
- `check_hours`: one row per target and UTC hour with that hour's checks as parallel arrays
  (instants, ok flags, latencies in hundredths of a millisecond, errors), plus the number of
  failures so incident detection finds failing hours through a small partial index.

Existing `check_results` rows are moved, not dropped: hours that ended more than an hour ago are
compacted, the rest become recent rows. Downgrade puts every check back into `check_results`.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# One total order for every array of an hour row, so ties (two checks at the same instant) keep
# the arrays aligned element by element.
ORDER = "ORDER BY c.checked_at, c.ok, c.latency_cms, c.error"


def upgrade() -> None:
    op.create_table(
        "check_targets",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("tenant_slug", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), server_default="imported", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_targets")),
        sa.UniqueConstraint("name", name=op.f("uq_check_targets_name")),
        schema="control_plane",
    )
    op.create_table(
        "recent_checks",
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("latency_cms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["target_id"], ["control_plane.check_targets.id"],
                                name=op.f("fk_recent_checks_target_id_check_targets"), ondelete="CASCADE"),
        schema="control_plane",
    )
    op.create_index("ix_recent_checks_target_id_checked_at", "recent_checks", ["target_id", "checked_at"],
                    unique=False, schema="control_plane")
    op.create_index("ix_recent_checks_checked_at", "recent_checks", ["checked_at"], unique=False,
                    schema="control_plane")
    op.create_table(
        "check_hours",
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("failures", sa.SmallInteger(), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", postgresql.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("ok", postgresql.ARRAY(sa.Boolean()), nullable=False),
        sa.Column("latency_cms", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("errors", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(["target_id"], ["control_plane.check_targets.id"],
                                name=op.f("fk_check_hours_target_id_check_targets"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("target_id", "hour_start", name=op.f("pk_check_hours")),
        schema="control_plane",
    )
    op.create_index("ix_check_hours_hour_start", "check_hours", ["hour_start"], unique=False, schema="control_plane")
    op.create_index("ix_check_hours_failing", "check_hours", ["target_id", "hour_start"], unique=False,
                    schema="control_plane", postgresql_where=sa.text("failures > 0"))

    op.execute("""
        INSERT INTO control_plane.check_targets (name, tenant_slug, kind)
        SELECT target, max(tenant_slug), min(kind) FROM control_plane.check_results GROUP BY target ORDER BY target""")
    op.execute(f"""
        WITH c AS (
            SELECT t.id AS target_id, r.checked_at, r.ok, round(r.latency_ms * 100)::int AS latency_cms, r.error
              FROM control_plane.check_results r JOIN control_plane.check_targets t ON t.name = r.target
             WHERE r.checked_at < date_trunc('hour', now(), 'UTC') - interval '1 hour')
        INSERT INTO control_plane.check_hours (target_id, hour_start, failures, checked_at, ok, latency_cms, errors)
        SELECT c.target_id, date_trunc('hour', c.checked_at, 'UTC'), count(*) FILTER (WHERE NOT c.ok),
               array_agg(c.checked_at {ORDER}), array_agg(c.ok {ORDER}), array_agg(c.latency_cms {ORDER}),
               CASE WHEN count(c.error) > 0 THEN array_agg(c.error {ORDER}) END
          FROM c GROUP BY 1, 2""")
    op.execute("""
        INSERT INTO control_plane.recent_checks (target_id, checked_at, ok, latency_cms, error)
        SELECT t.id, r.checked_at, r.ok, round(r.latency_ms * 100)::int, r.error
          FROM control_plane.check_results r JOIN control_plane.check_targets t ON t.name = r.target
         WHERE r.checked_at >= date_trunc('hour', now(), 'UTC') - interval '1 hour'""")
    op.drop_table("check_results", schema="control_plane")


def downgrade() -> None:
    op.create_table(
        "check_results",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("tenant_slug", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), server_default="imported", nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_results")),
        schema="control_plane",
    )
    op.execute("""
        INSERT INTO control_plane.check_results (target, tenant_slug, kind, checked_at, ok, latency_ms, error)
        SELECT t.name, t.tenant_slug, t.kind, c.checked_at, c.ok, c.latency_cms / 100.0, c.error
          FROM (SELECT target_id, checked_at, ok, latency_cms, error FROM control_plane.recent_checks
                UNION ALL
                SELECT h.target_id, u.checked_at, u.ok, u.latency_cms, u.error
                  FROM control_plane.check_hours h,
                       unnest(h.checked_at, h.ok, h.latency_cms, h.errors) AS u(checked_at, ok, latency_cms, error)) c
          JOIN control_plane.check_targets t ON t.id = c.target_id
         ORDER BY c.checked_at""")
    op.create_index("ix_check_results_target_checked_at", "check_results", ["target", "checked_at"], unique=False,
                    schema="control_plane")
    op.create_index("ix_check_results_checked_at_brin", "check_results", ["checked_at"], unique=False,
                    schema="control_plane", postgresql_using="brin")
    op.create_index("ix_check_results_failed", "check_results", ["target", "checked_at"], unique=False,
                    schema="control_plane", postgresql_where=sa.text("NOT ok"))
    op.drop_table("check_hours", schema="control_plane")
    op.drop_table("recent_checks", schema="control_plane")
    op.drop_table("check_targets", schema="control_plane")
