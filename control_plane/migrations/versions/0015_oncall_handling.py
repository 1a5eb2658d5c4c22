"""On-call handling of alerts and incidents (docs/runbook.md "Handling an item")

- `alerts`: acknowledged (by, at), assigned (to a user, by, at), a note, and closed (by, at) when
  on-call resolves it by hand.
- `incidents` already carry acknowledged_by/at and a note: they gain the assignment and the hand
  close. `resolved_at` stays the instant the target answered again (computed from the checks).
- An index for the latest burn-rate alert per target (the on-call inbox joins it to what fires).

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

S = "control_plane"

_SHARED = ("assigned_to", "assigned_by", "assigned_at", "closed_by", "closed_at")


def _columns() -> dict[str, sa.Column]:
    return {
        "acknowledged_by": sa.Column("acknowledged_by", sa.Text(), nullable=True),
        "acknowledged_at": sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        "assigned_to": sa.Column("assigned_to", sa.Text(), nullable=True),
        "assigned_by": sa.Column("assigned_by", sa.Text(), nullable=True),
        "assigned_at": sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        "note": sa.Column("note", sa.Text(), nullable=True),
        "closed_by": sa.Column("closed_by", sa.Text(), nullable=True),
        "closed_at": sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    }


def upgrade() -> None:
    for column in _columns().values():
        op.add_column("alerts", column, schema=S)
    columns = _columns()
    for name in _SHARED:
        op.add_column("incidents", columns[name], schema=S)
    op.create_index("ix_alerts_kind_target_at", "alerts", ["kind", "target", "at"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_alerts_kind_target_at", table_name="alerts", schema=S)
    for name in _SHARED:
        op.drop_column("incidents", name, schema=S)
    for name in _columns():
        op.drop_column("alerts", name, schema=S)
