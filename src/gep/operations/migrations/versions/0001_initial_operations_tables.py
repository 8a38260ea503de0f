"""initial operations tables

Revision ID: 0001
Revises:
Create Date: 2026-12-02 00:37:22.541895
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ops_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('party_id', sa.String(length=100), nullable=False),
    sa.Column('cause', sa.String(length=50), nullable=False),
    sa.Column('section', sa.String(length=200), nullable=False),
    sa.Column('station', sa.String(length=100), nullable=False),
    sa.Column('indicator', sa.String(length=100), nullable=False),
    sa.Column('value', sa.String(length=50), nullable=False),
    sa.Column('limit', sa.String(length=50), nullable=False),
    sa.Column('unit', sa.String(length=50), nullable=False),
    sa.Column('n_valid', sa.String(length=20), nullable=False),
    sa.Column('day_withheld_cny', sa.String(length=30), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ops_alerts'))
    )
    with op.batch_alter_table('ops_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ops_alerts_date'), ['date'], unique=False)

    op.create_table('ops_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station', sa.String(length=100), nullable=False),
    sa.Column('batch_id', sa.String(length=200), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('n_readings', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('covers', sa.Text(), nullable=False),
    sa.Column('first_ts_ns', sa.BigInteger(), nullable=True),
    sa.Column('last_ts_ns', sa.BigInteger(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ledger_index', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ops_batches')),
    sa.UniqueConstraint('station', 'batch_id', name='uq_ops_batches_station')
    )
    with op.batch_alter_table('ops_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ops_batches_ledger_index'), ['ledger_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_ops_batches_received_at'), ['received_at'], unique=False)

    op.create_table('ops_daily_index',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('section', sa.String(length=100), nullable=False),
    sa.Column('index', sa.String(length=20), nullable=False),
    sa.Column('anomaly', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('party_id', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('date', 'section', name=op.f('pk_ops_daily_index'))
    )
    op.create_table('ops_daily_runs',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('inputs_digest', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('n_readings', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('date', name=op.f('pk_ops_daily_runs'))
    )
    op.create_table('ops_disbursements',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('party_id', sa.String(length=100), nullable=False),
    sa.Column('scheduled_cny', sa.String(length=30), nullable=False),
    sa.Column('paid_cny', sa.String(length=30), nullable=False),
    sa.Column('withheld_cny', sa.String(length=30), nullable=False),
    sa.Column('index', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('pace', sa.String(length=20), nullable=False),
    sa.Column('anomaly', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'party_id', name=op.f('pk_ops_disbursements'))
    )
    op.create_table('ops_series',
    sa.Column('station', sa.String(length=100), nullable=False),
    sa.Column('indicator', sa.String(length=100), nullable=False),
    sa.Column('unit', sa.String(length=50), nullable=False),
    sa.Column('first_ts_ns', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('station', 'indicator', name=op.f('pk_ops_series'))
    )
    op.create_table('ops_station_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station', sa.String(length=100), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ops_station_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_ops_station_keys_key_hash'))
    )
    with op.batch_alter_table('ops_station_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ops_station_keys_station'), ['station'], unique=False)

    op.create_table('ops_alert_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=500), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['ops_alerts.id'], name=op.f('fk_ops_alert_deliveries_alert_id_ops_alerts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ops_alert_deliveries')),
    sa.UniqueConstraint('alert_id', 'channel', 'recipient', name='uq_ops_alert_deliveries_alert')
    )
    op.create_table('ops_readings',
    sa.Column('station', sa.String(length=100), nullable=False),
    sa.Column('indicator', sa.String(length=100), nullable=False),
    sa.Column('ts_ns', sa.BigInteger(), nullable=False),
    sa.Column('value', sa.Float(precision=53), nullable=True),
    sa.Column('unit', sa.String(length=50), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch'], ['ops_batches.id'], name=op.f('fk_ops_readings_batch_ops_batches')),
    sa.PrimaryKeyConstraint('station', 'indicator', 'ts_ns', name=op.f('pk_ops_readings'))
    )
    with op.batch_alter_table('ops_readings', schema=None) as batch_op:
        batch_op.create_index('ix_ops_readings_ts', ['ts_ns'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ops_readings', schema=None) as batch_op:
        batch_op.drop_index('ix_ops_readings_ts')

    op.drop_table('ops_readings')
    op.drop_table('ops_alert_deliveries')
    with op.batch_alter_table('ops_station_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ops_station_keys_station'))

    op.drop_table('ops_station_keys')
    op.drop_table('ops_series')
    op.drop_table('ops_disbursements')
    op.drop_table('ops_daily_runs')
    op.drop_table('ops_daily_index')
    with op.batch_alter_table('ops_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ops_batches_received_at'))
        batch_op.drop_index(batch_op.f('ix_ops_batches_ledger_index'))

    op.drop_table('ops_batches')
    with op.batch_alter_table('ops_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ops_alerts_date'))

    op.drop_table('ops_alerts')
