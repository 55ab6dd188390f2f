"""separation of duties in organisations: a flag only an admin clears

Revision ID: 0013_separation_of_duties
Revises: 0012_reference_townships
Create Date: 2026-12-01 02:50:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0013_separation_of_duties'
down_revision = '0012_reference_townships'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('separation_of_duties', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('separation_of_duties')
