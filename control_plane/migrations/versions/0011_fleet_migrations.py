"""Fleet schema migrations: runs, per-tenant results, versions (docs/migrations.md)

- `migration_runs`: one rollout of the tenant template (target, waves, status, who, when,
  options, the health decision of every soak); at most one planned/running/soaking at a time.
- `migration_results`: every tenant of a run with its wave, written when the run is planned
  (`pending`), then its outcome (from, to, status, attempts, duration, error): what a resumed run
  reads to know what is done.
- `tenants.template_version` indexed: "nothing to do" is one index read, whatever the fleet size.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

S = "control_plane"


def upgrade() -> None:
    op.create_table(
        "migration_runs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("target_version", sa.Integer(), nullable=False),
        sa.Column("waves", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("status", sa.Text(), server_default="planned", nullable=False),
        sa.Column("queued", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("current_wave", sa.Integer(), server_default="1", nullable=False),
        sa.Column("soak_seconds", sa.Integer(), nullable=False),
        sa.Column("wave_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("soak_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("decisions", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("halt_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status in ('planned','running','soaking','halted','completed','rolled_back')",
                           name=op.f("ck_migration_runs_status")),
        sa.CheckConstraint("soak_seconds >= 0", name=op.f("ck_migration_runs_soak")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_runs")),
        schema=S,
    )
    op.create_index("ix_migration_runs_created_at", "migration_runs", ["created_at"], schema=S)
    op.create_index("uq_migration_runs_active", "migration_runs", [sa.text("(true)")], unique=True, schema=S,
                    postgresql_where=sa.text("status in ('planned','running','soaking')"))
    op.create_table(
        "migration_results",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_slug", sa.Text(), nullable=False),
        sa.Column("cluster_name", sa.Text(), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status in ('pending','applied','failed','skipped','reversed','reverse_failed')",
                           name=op.f("ck_migration_results_status")),
        sa.ForeignKeyConstraint(["run_id"], [f"{S}.migration_runs.id"], ondelete="CASCADE",
                                name=op.f("fk_migration_results_run_id_migration_runs")),
        sa.PrimaryKeyConstraint("run_id", "tenant_slug", name=op.f("pk_migration_results")),
        schema=S,
    )
    op.create_index("ix_migration_results_run_id_wave_status", "migration_results", ["run_id", "wave", "status"],
                    schema=S)
    op.create_index("ix_tenants_template_version", "tenants", ["template_version"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_tenants_template_version", table_name="tenants", schema=S)
    op.drop_table("migration_results", schema=S)
    op.drop_table("migration_runs", schema=S)
