"""Sign-in hardening: failed attempt throttling per account and per client

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope in ('account','client')", name=op.f("ck_sign_in_throttle_scope")),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_sign_in_throttle")),
        schema="control_plane",
    )
    op.create_index(op.f("ix_sign_in_throttle_expires_at"), "sign_in_throttle", ["expires_at"],
                    unique=False, schema="control_plane")


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_throttle_expires_at"), table_name="sign_in_throttle", schema="control_plane")
    op.drop_table("sign_in_throttle", schema="control_plane")
