"""catalog: every control-plane table, the starting plans and the default cluster

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('severity', sa.Text(), server_default='warning', nullable=False),
    sa.Column('target', sa.Text(), nullable=True),
    sa.Column('tenant_slug', sa.Text(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('published', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('publish_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    schema='control_plane'
    )
    op.create_index('ix_alerts_at', 'alerts', ['at'], unique=False, schema='control_plane')
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('actor_role', sa.Text(), nullable=True),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('tenant_slug', sa.Text(), nullable=True),
    sa.Column('target', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Text(), server_default='ok', nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.CheckConstraint("outcome in ('ok','noop','denied','error')", name=op.f('ck_audit_log_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    schema='control_plane'
    )
    op.create_index('ix_audit_log_actor_at', 'audit_log', ['actor', 'at'], unique=False, schema='control_plane')
    op.create_index('ix_audit_log_at', 'audit_log', ['at'], unique=False, schema='control_plane')
    op.create_index('ix_audit_log_tenant_slug_at', 'audit_log', ['tenant_slug', 'at'], unique=False, schema='control_plane')
    op.create_table('check_results',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('tenant_slug', sa.Text(), nullable=True),
    sa.Column('kind', sa.Text(), server_default='imported', nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('latency_ms', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_results')),
    schema='control_plane'
    )
    op.create_index('ix_check_results_checked_at', 'check_results', ['checked_at'], unique=False, schema='control_plane')
    op.create_index('ix_check_results_target_checked_at', 'check_results', ['target', 'checked_at'], unique=False, schema='control_plane')
    op.create_table('check_rollups',
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('granularity', sa.Text(), nullable=False),
    sa.Column('bucket_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_slug', sa.Text(), nullable=True),
    sa.Column('checks', sa.Integer(), nullable=False),
    sa.Column('ok', sa.Integer(), nullable=False),
    sa.Column('p95_latency_ms', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.CheckConstraint("granularity in ('hour','day')", name=op.f('ck_check_rollups_granularity')),
    sa.PrimaryKeyConstraint('target', 'granularity', 'bucket_start', name=op.f('pk_check_rollups')),
    schema='control_plane'
    )
    op.create_index('ix_check_rollups_bucket', 'check_rollups', ['granularity', 'bucket_start'], unique=False, schema='control_plane')
    op.create_table('clusters',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('url_env', sa.Text(), nullable=True),
    sa.Column('aurora_cluster_id', sa.Text(), nullable=True),
    sa.Column('acu_floor', sa.Numeric(precision=6, scale=1), server_default='0.5', nullable=False),
    sa.Column('acu_ceiling', sa.Numeric(precision=6, scale=1), server_default='64', nullable=False),
    sa.Column('capacity_weight', sa.Numeric(precision=8, scale=2), server_default='1', nullable=False),
    sa.Column('accepts_tenants', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_clusters')),
    schema='control_plane'
    )
    op.create_table('incidents',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('tenant_slug', sa.Text(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_checks', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('acknowledged_by', sa.Text(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    schema='control_plane'
    )
    op.create_index('ix_incidents_open', 'incidents', ['resolved_at'], unique=False, schema='control_plane', postgresql_where=sa.text('resolved_at IS NULL'))
    op.create_index('ix_incidents_target_opened_at', 'incidents', ['target', 'opened_at'], unique=False, schema='control_plane')
    op.create_table('job_runs',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.Text(), server_default='running', nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('host', sa.Text(), nullable=True),
    sa.Column('trigger', sa.Text(), server_default='schedule', nullable=False),
    sa.CheckConstraint("status in ('running','succeeded','failed','timed_out')", name=op.f('ck_job_runs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    schema='control_plane'
    )
    op.create_index('ix_job_runs_job_id_started_at', 'job_runs', ['job_id', 'started_at'], unique=False, schema='control_plane')
    op.create_table('maintenance_windows',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('target', sa.Text(), nullable=True),
    sa.Column('tenant_slug', sa.Text(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_maintenance_windows_span')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_windows')),
    schema='control_plane'
    )
    op.create_table('noisy_neighbour_flags',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_slug', sa.Text(), nullable=False),
    sa.Column('metric', sa.Text(), nullable=False),
    sa.Column('value', sa.Numeric(precision=20, scale=2), nullable=False),
    sa.Column('baseline', sa.Numeric(precision=20, scale=2), nullable=False),
    sa.Column('factor', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('recommendation', sa.Text(), nullable=False),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_noisy_neighbour_flags')),
    schema='control_plane'
    )
    op.create_index('ix_noisy_neighbour_flags_tenant_at', 'noisy_neighbour_flags', ['tenant_slug', 'at'], unique=False, schema='control_plane')
    op.create_table('plans',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('list_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('interval', sa.Text(), server_default='month', nullable=False),
    sa.Column('sort_order', sa.Integer(), server_default='0', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.CheckConstraint("interval in ('month','year')", name=op.f('ck_plans_interval')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_plans')),
    schema='control_plane'
    )
    op.create_table('scaling_decisions',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('cluster_name', sa.Text(), nullable=False),
    sa.Column('aurora_cluster_id', sa.Text(), nullable=True),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('current_min_acu', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('current_max_acu', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('new_min_acu', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('new_max_acu', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('inputs', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scaling_decisions')),
    schema='control_plane'
    )
    op.create_index('ix_scaling_decisions_cluster_at', 'scaling_decisions', ['cluster_name', 'at'], unique=False, schema='control_plane')
    op.create_table('subscription_changes',
    sa.Column('tenant', sa.Text(), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('plan', sa.Text(), nullable=False),
    sa.Column('interval', sa.Text(), nullable=False),
    sa.Column('price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), server_default='0', nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), server_default='import', nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("interval in ('month','year')", name=op.f('ck_subscription_changes_interval')),
    sa.CheckConstraint("status in ('trial','active','past_due','paused','canceled')", name=op.f('ck_subscription_changes_status')),
    sa.CheckConstraint('discount_percent >= 0 and discount_percent <= 100', name=op.f('ck_subscription_changes_discount')),
    sa.CheckConstraint('price >= 0', name=op.f('ck_subscription_changes_price')),
    sa.CheckConstraint('seats >= 0', name=op.f('ck_subscription_changes_seats')),
    sa.PrimaryKeyConstraint('tenant', 'effective_date', name=op.f('pk_subscription_changes')),
    schema='control_plane'
    )
    op.create_table('usage_daily',
    sa.Column('tenant_slug', sa.Text(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('storage_bytes', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('row_estimate', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('connections', sa.Integer(), server_default='0', nullable=False),
    sa.Column('requests', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('errors', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('p95_latency_ms', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('tenant_slug', 'day', name=op.f('pk_usage_daily')),
    schema='control_plane'
    )
    op.create_index('ix_usage_daily_day', 'usage_daily', ['day'], unique=False, schema='control_plane')
    op.create_table('users',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('username', sa.Text(), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=True),
    sa.Column('disabled', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role in ('founder','support','oncall','admin')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username')),
    schema='control_plane'
    )
    op.create_table('tenants',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('owner_email', sa.Text(), nullable=True),
    sa.Column('plan_code', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('cluster_name', sa.Text(), nullable=False),
    sa.Column('endpoint_url', sa.Text(), nullable=True),
    sa.Column('template_version', sa.Integer(), nullable=True),
    sa.Column('is_demo', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('archive_uri', sa.Text(), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('purge_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status in ('provisioning','active','suspended','archiving','archived','purged')", name=op.f('ck_tenants_status')),
    sa.ForeignKeyConstraint(['cluster_name'], ['control_plane.clusters.name'], name=op.f('fk_tenants_cluster_name_clusters')),
    sa.ForeignKeyConstraint(['plan_code'], ['control_plane.plans.code'], name=op.f('fk_tenants_plan_code_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenants_slug')),
    schema='control_plane'
    )
    op.create_index('ix_tenants_cluster_name', 'tenants', ['cluster_name'], unique=False, schema='control_plane')
    op.create_index('ix_tenants_owner_email_lower', 'tenants', [sa.literal_column('lower(owner_email)')], unique=False, schema='control_plane')
    op.create_index('ix_tenants_plan_code', 'tenants', ['plan_code'], unique=False, schema='control_plane')
    op.create_index('ix_tenants_status', 'tenants', ['status'], unique=False, schema='control_plane')

    plans = sa.table("plans", sa.column("code", sa.Text), sa.column("name", sa.Text),
                     sa.column("list_price", sa.Numeric), sa.column("interval", sa.Text),
                     sa.column("sort_order", sa.Integer), schema="control_plane")
    op.bulk_insert(plans, [
        {"code": "free", "name": "Free", "list_price": 0, "interval": "month", "sort_order": 1},
        {"code": "starter", "name": "Starter", "list_price": 29, "interval": "month", "sort_order": 2},
        {"code": "team", "name": "Team", "list_price": 99, "interval": "month", "sort_order": 3},
        {"code": "business", "name": "Business", "list_price": 299, "interval": "month", "sort_order": 4},
        {"code": "enterprise", "name": "Enterprise", "list_price": 999, "interval": "month", "sort_order": 5},
    ])
    clusters = sa.table("clusters", sa.column("name", sa.Text), sa.column("url_env", sa.Text), schema="control_plane")
    op.bulk_insert(clusters, [{"name": "default", "url_env": None}])


def downgrade() -> None:
    op.drop_index('ix_tenants_status', table_name='tenants', schema='control_plane')
    op.drop_index('ix_tenants_plan_code', table_name='tenants', schema='control_plane')
    op.drop_index('ix_tenants_owner_email_lower', table_name='tenants', schema='control_plane')
    op.drop_index('ix_tenants_cluster_name', table_name='tenants', schema='control_plane')
    op.drop_table('tenants', schema='control_plane')
    op.drop_table('users', schema='control_plane')
    op.drop_index('ix_usage_daily_day', table_name='usage_daily', schema='control_plane')
    op.drop_table('usage_daily', schema='control_plane')
    op.drop_table('subscription_changes', schema='control_plane')
    op.drop_index('ix_scaling_decisions_cluster_at', table_name='scaling_decisions', schema='control_plane')
    op.drop_table('scaling_decisions', schema='control_plane')
    op.drop_table('plans', schema='control_plane')
    op.drop_index('ix_noisy_neighbour_flags_tenant_at', table_name='noisy_neighbour_flags', schema='control_plane')
    op.drop_table('noisy_neighbour_flags', schema='control_plane')
    op.drop_table('maintenance_windows', schema='control_plane')
    op.drop_index('ix_job_runs_job_id_started_at', table_name='job_runs', schema='control_plane')
    op.drop_table('job_runs', schema='control_plane')
    op.drop_index('ix_incidents_target_opened_at', table_name='incidents', schema='control_plane')
    op.drop_index('ix_incidents_open', table_name='incidents', schema='control_plane', postgresql_where=sa.text('resolved_at IS NULL'))
    op.drop_table('incidents', schema='control_plane')
    op.drop_table('clusters', schema='control_plane')
    op.drop_index('ix_check_rollups_bucket', table_name='check_rollups', schema='control_plane')
    op.drop_table('check_rollups', schema='control_plane')
    op.drop_index('ix_check_results_target_checked_at', table_name='check_results', schema='control_plane')
    op.drop_index('ix_check_results_checked_at', table_name='check_results', schema='control_plane')
    op.drop_table('check_results', schema='control_plane')
    op.drop_index('ix_audit_log_tenant_slug_at', table_name='audit_log', schema='control_plane')
    op.drop_index('ix_audit_log_at', table_name='audit_log', schema='control_plane')
    op.drop_index('ix_audit_log_actor_at', table_name='audit_log', schema='control_plane')
    op.drop_table('audit_log', schema='control_plane')
    op.drop_index('ix_alerts_at', table_name='alerts', schema='control_plane')
    op.drop_table('alerts', schema='control_plane')
