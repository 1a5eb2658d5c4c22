"""Archive requests as a queue admins work through (docs/lifecycle.md "Archive requests")

- `archive_requests`: one row per request (tenant, who, when, reason) and its outcome: pending,
  approved (the archive ran) or declined (by whom, when, why); at most one pending per tenant.
- Requests filed before this revision lived only in the audit log: the ones still open there
  (the latest per active or suspended tenant, with no archive or restore since) become pending rows.

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

S = "control_plane"


def upgrade() -> None:
    op.create_table(
        "archive_requests",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_slug", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status in ('pending','approved','declined')", name=op.f("ck_archive_requests_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_requests")),
        schema=S,
    )
    op.create_index("ix_archive_requests_tenant_slug", "archive_requests", ["tenant_slug", "requested_at"], schema=S)
    op.create_index("uq_archive_requests_pending", "archive_requests", ["tenant_slug"], unique=True, schema=S,
                    postgresql_where=sa.text("status = 'pending'"))
    op.execute("""
        INSERT INTO control_plane.archive_requests (tenant_slug, requested_by, requested_at, reason)
        SELECT DISTINCT ON (a.tenant_slug) a.tenant_slug, a.actor, a.at, coalesce(a.reason, '')
          FROM control_plane.audit_log a
          JOIN control_plane.tenants t ON t.slug = a.tenant_slug
         WHERE a.action = 'tenant.archive.request' AND a.outcome = 'ok'
           AND t.status IN ('active', 'suspended')
           AND NOT EXISTS (SELECT 1 FROM control_plane.audit_log later
                            WHERE later.tenant_slug = a.tenant_slug AND later.at > a.at
                              AND later.action IN ('tenant.archive.start', 'tenant.archive', 'tenant.restore'))
         ORDER BY a.tenant_slug, a.at DESC, a.id DESC
    """)


def downgrade() -> None:
    op.drop_table("archive_requests", schema=S)
