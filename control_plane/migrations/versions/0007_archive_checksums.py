"""Archive integrity: the checksum, size and row counts of a tenant's archive, recorded in the
catalog when the archive is made and verified, so restore trusts nothing that lives next to the
dump in S3.

Archives made before this revision get the sha256, size and counts that their `tenant.archive`
audit entry recorded (taken from the manifest right after verification), when that entry is for
the same archive URI; an archive without one cannot be restored until an operator records it.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Also run by tests/integration/test_archive.py against a catalog with such an archive.
BACKFILL = """
        UPDATE control_plane.tenants t
           SET archive_sha256 = a.detail->>'sha256',
               archive_size_bytes = CASE WHEN a.detail->>'size_bytes' ~ '^[0-9]{1,18}$'
                                         THEN (a.detail->>'size_bytes')::bigint END,
               archive_tables = a.detail->'tables'
          FROM (SELECT DISTINCT ON (tenant_slug) tenant_slug, after, detail
                  FROM control_plane.audit_log
                 WHERE action = 'tenant.archive' AND outcome = 'ok'
                 ORDER BY tenant_slug, id DESC) a
         WHERE a.tenant_slug = t.slug
           AND t.status = 'archived'
           AND t.archive_uri IS NOT NULL
           AND a.after->>'archive_uri' = t.archive_uri
           AND a.detail->>'sha256' ~ '^[0-9a-f]{64}$'
           AND jsonb_typeof(a.detail->'tables') = 'object'
"""


def upgrade() -> None:
    op.add_column("tenants", sa.Column("archive_sha256", sa.Text(), nullable=True), schema="control_plane")
    op.add_column("tenants", sa.Column("archive_size_bytes", sa.BigInteger(), nullable=True), schema="control_plane")
    op.add_column("tenants", sa.Column("archive_tables", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
                  schema="control_plane")
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_column("tenants", "archive_tables", schema="control_plane")
    op.drop_column("tenants", "archive_size_bytes", schema="control_plane")
    op.drop_column("tenants", "archive_sha256", schema="control_plane")
