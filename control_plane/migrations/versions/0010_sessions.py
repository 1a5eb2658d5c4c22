"""Sign-in sessions that survive a browser reload

`sign_in_sessions`: one row per password sign-in; the browser's signed cookie carries a random id
whose SHA-256 is `token_hash` (the raw id is never stored). A row counts while `now < expires_at`
and `revoked_at` is null and its account is enabled (docs/pages.md "Staying signed in across reloads").

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_sessions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.Column("client", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.CheckConstraint("char_length(token_hash) = 64", name=op.f("ck_sign_in_sessions_token_hash")),
        sa.ForeignKeyConstraint(["user_id"], ["control_plane.users.id"], ondelete="CASCADE",
                                name=op.f("fk_sign_in_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sign_in_sessions_token_hash")),
        schema="control_plane",
    )
    op.create_index("ix_sign_in_sessions_user_id", "sign_in_sessions", ["user_id"], unique=False,
                    schema="control_plane")
    op.create_index("ix_sign_in_sessions_expires_at", "sign_in_sessions", ["expires_at"], unique=False,
                    schema="control_plane")


def downgrade() -> None:
    op.drop_index("ix_sign_in_sessions_expires_at", table_name="sign_in_sessions", schema="control_plane")
    op.drop_index("ix_sign_in_sessions_user_id", table_name="sign_in_sessions", schema="control_plane")
    op.drop_table("sign_in_sessions", schema="control_plane")
