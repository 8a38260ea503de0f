"""daily section means (the year's P index for the escrow settlement)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 06:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ops_section_means',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('section', sa.String(length=100), nullable=False),
    sa.Column('indicator', sa.String(length=100), nullable=False),
    sa.Column('mean', sa.Float(precision=53), nullable=False),
    sa.PrimaryKeyConstraint('date', 'section', 'indicator', name=op.f('pk_ops_section_means'))
    )


def downgrade() -> None:
    op.drop_table('ops_section_means')
