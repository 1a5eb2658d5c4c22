"""Tenant moves between clusters (docs/moves.md)

- `tenant_moves`: one row per move (source, target, mode, status), the last step finished and
  every step with its time, the time the tenant's writes were blocked, the verification figures
  (rows and checksums per table), and the source schema kept under a new name until
  `retain_until`; at most one running move per tenant.

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

S = "control_plane"


def upgrade() -> None:
    op.create_table(
        "tenant_moves",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_slug", sa.Text(), nullable=False),
        sa.Column("source_cluster", sa.Text(), nullable=False),
        sa.Column("target_cluster", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="running", nullable=False),
        sa.Column("step", sa.Text(), server_default="requested", nullable=False),
        sa.Column("steps", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("tenant_status", sa.Text(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("cutover_lsn", sa.Text(), nullable=True),
        sa.Column("writes_blocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("writes_unblocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("writes_blocked_ms", sa.Integer(), nullable=True),
        sa.Column("verification", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("retained_schema", sa.Text(), nullable=True),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status in ('running','completed','cancelled','failed')",
                           name=op.f("ck_tenant_moves_status")),
        sa.CheckConstraint("mode in ('online','offline')", name=op.f("ck_tenant_moves_mode")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_moves")),
        schema=S,
    )
    op.create_index("ix_tenant_moves_tenant_slug", "tenant_moves", ["tenant_slug", "created_at"], schema=S)
    op.create_index("uq_tenant_moves_active", "tenant_moves", ["tenant_slug"], unique=True, schema=S,
                    postgresql_where=sa.text("status = 'running'"))


def downgrade() -> None:
    op.drop_table("tenant_moves", schema=S)
