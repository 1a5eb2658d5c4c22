"""The "anything below version V?" index the no-op query can read

`ix_tenants_template_version` (0011) indexed `template_version`, but every query that asks which
tenants are below a version compares `COALESCE(template_version, 1)` (a row from before versions
were recorded is at version 1), which a plain column index cannot answer: the planner read the
whole table. The index is on that expression now, so "nothing to do" is one index probe.

Revision ID: 0016
Revises: 0014 (0015 once the on-call branch is merged)
"""
from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

S = "control_plane"


def upgrade() -> None:
    op.drop_index("ix_tenants_template_version", table_name="tenants", schema=S)
    op.create_index("ix_tenants_version_or_first", "tenants", [sa.text("COALESCE(template_version, 1)")], schema=S)


def downgrade() -> None:
    op.drop_index("ix_tenants_version_or_first", table_name="tenants", schema=S)
    op.create_index("ix_tenants_template_version", "tenants", ["template_version"], schema=S)
