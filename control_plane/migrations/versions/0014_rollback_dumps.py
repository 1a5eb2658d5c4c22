"""Verified copies of the data a fleet rollback drops (docs/migrations.md "Rollback that drops data")

- `migration_dumps`: one row per tenant whose rollback dropped tables or columns holding rows: the
  S3 URI of its verified pg_dump, the dump's sha256 and size, the row counts per table it held,
  the version it was at and the version it went back to, who and when.

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

S = "control_plane"


def upgrade() -> None:
    op.create_table(
        "migration_dumps",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_slug", sa.Text(), nullable=False),
        sa.Column("cluster_name", sa.Text(), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=False),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("tables", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dropped", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], [f"{S}.migration_runs.id"], name=op.f("fk_migration_dumps_run_id_migration_runs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_dumps")),
        schema=S,
    )
    op.create_index("ix_migration_dumps_run_id", "migration_dumps", ["run_id", "tenant_slug"], schema=S)


def downgrade() -> None:
    op.drop_table("migration_dumps", schema=S)
