"""revenue: exact prices and a stored per-state MRR in cents on the subscription ledger

Prices and discounts keep the precision they were imported with (a state's MRR is rounded to the
cent once, from the exact value), and every state's MRR in integer cents is computed by PostgreSQL
as a generated column, so reports sum integers and never re-derive money.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "control_plane"
# price x seats x (100 - discount) is the state's monthly amount in cents (x12 for annual). The cast
# to 12 decimals before dividing keeps the quotient exact enough that round() (half away from zero,
# i.e. half up for amounts >= 0) can never be tipped over a half-cent boundary by division error.
MRR_CENTS = (
    "CASE WHEN status IN ('active', 'past_due') THEN "
    "round(CAST(price * seats * (100 - discount_percent) AS numeric(38, 12)) "
    "/ CASE WHEN interval = 'year' THEN 12 ELSE 1 END)::bigint "
    "ELSE 0 END"
)


def upgrade() -> None:
    op.alter_column("subscription_changes", "price", type_=sa.Numeric(18, 6),
                    existing_type=sa.Numeric(14, 2), existing_nullable=False, schema=SCHEMA)
    op.alter_column("subscription_changes", "discount_percent", type_=sa.Numeric(7, 4),
                    existing_type=sa.Numeric(5, 2), existing_nullable=False, existing_server_default="0",
                    schema=SCHEMA)
    op.add_column("subscription_changes",
                  sa.Column("mrr_cents", sa.BigInteger(), sa.Computed(MRR_CENTS, persisted=True), nullable=False),
                  schema=SCHEMA)
    # Month-range reports and "latest change" look-ups scan by date across tenants.
    op.create_index("ix_subscription_changes_effective_date", "subscription_changes", ["effective_date"],
                    schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_subscription_changes_effective_date", "subscription_changes", schema=SCHEMA)
    op.drop_column("subscription_changes", "mrr_cents", schema=SCHEMA)
    op.alter_column("subscription_changes", "discount_percent", type_=sa.Numeric(5, 2),
                    existing_type=sa.Numeric(7, 4), existing_nullable=False, schema=SCHEMA)
    op.alter_column("subscription_changes", "price", type_=sa.Numeric(14, 2),
                    existing_type=sa.Numeric(18, 6), existing_nullable=False, schema=SCHEMA)
