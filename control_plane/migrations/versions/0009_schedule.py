"""Scheduler: next-run times kept across leaders; one run per scheduled occurrence; runs know the
catalog session that holds them

- `job_schedule`: one row per job id with its next due time, so a new leader carries on where the
  last one stopped instead of running every job at takeover (docs/operations.md "Worker and jobs").
- `job_runs.scheduled_for`: the occurrence a scheduled run stands for; unique per job, so two
  leaders can never both run the same occurrence (the claim is `INSERT ... ON CONFLICT DO NOTHING`).
- `job_runs.backend_pid`: the catalog session holding the run's job lock while it runs; a `running`
  row whose session no longer holds it was orphaned (worker killed, catalog restarted).

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_schedule",
        sa.Column("job_id", sa.Text(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.CheckConstraint("interval_seconds > 0", name=op.f("ck_job_schedule_interval")),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_schedule")),
        schema="control_plane",
    )
    op.add_column("job_runs", sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
                  schema="control_plane")
    op.add_column("job_runs", sa.Column("backend_pid", sa.Integer(), nullable=True), schema="control_plane")
    op.create_index("uq_job_runs_job_id_scheduled_for", "job_runs", ["job_id", "scheduled_for"], unique=True,
                    schema="control_plane", postgresql_where=sa.text("scheduled_for IS NOT NULL"))
    op.create_index("ix_job_runs_running", "job_runs", ["id"], unique=False, schema="control_plane",
                    postgresql_where=sa.text("status = 'running'"))


def downgrade() -> None:
    op.drop_index("ix_job_runs_running", table_name="job_runs", schema="control_plane")
    op.drop_index("uq_job_runs_job_id_scheduled_for", table_name="job_runs", schema="control_plane")
    op.drop_column("job_runs", "backend_pid", schema="control_plane")
    op.drop_column("job_runs", "scheduled_for", schema="control_plane")
    op.drop_table("job_schedule", schema="control_plane")
