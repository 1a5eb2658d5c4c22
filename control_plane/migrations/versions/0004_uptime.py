"""uptime and jobs: roll-up marks, cheaper check indexes

- `uptime_marks`: how far the hourly/daily roll-ups are complete and from when raw checks still exist,
  so reads use roll-ups for whole buckets and raw checks only where they must.
- `check_results.checked_at`: BRIN instead of B-tree. Raw checks arrive in time order; a BRIN index
  is a few pages instead of ~30 bytes per row, which keeps a day of 2,000 tenants' checks small.
- `ix_check_results_failed`: failures only (rare), for incident runs and burn-rate candidates.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uptime_marks",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_uptime_marks")),
        schema="control_plane",
    )
    op.drop_index("ix_check_results_checked_at", table_name="check_results", schema="control_plane")
    op.create_index("ix_check_results_checked_at_brin", "check_results", ["checked_at"], unique=False,
                    schema="control_plane", postgresql_using="brin")
    op.create_index("ix_check_results_failed", "check_results", ["target", "checked_at"], unique=False,
                    schema="control_plane", postgresql_where=sa.text("NOT ok"))
    op.create_index("ix_job_runs_started_at", "job_runs", ["started_at"], unique=False, schema="control_plane")


def downgrade() -> None:
    op.drop_index("ix_job_runs_started_at", table_name="job_runs", schema="control_plane")
    op.drop_index("ix_check_results_failed", table_name="check_results", schema="control_plane")
    op.drop_index("ix_check_results_checked_at_brin", table_name="check_results", schema="control_plane")
    op.create_index("ix_check_results_checked_at", "check_results", ["checked_at"], unique=False,
                    schema="control_plane")
    op.drop_table("uptime_marks", schema="control_plane")
