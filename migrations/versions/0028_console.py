"""console: indexes for the stock page (frozen batches, a location's batches by date)

Revision ID: 0028_console
Revises: 0026_search_speed
"""

from alembic import op

revision = "0028_console"
down_revision = "0026_search_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stock_batches", schema=None) as batch_op:
        batch_op.create_index("ix_stock_batches_frozen_at", ["frozen_at"], unique=False)
    with op.batch_alter_table("batch_levels", schema=None) as batch_op:
        batch_op.create_index("ix_batch_levels_location_id_best_before", ["location_id", "best_before"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("batch_levels", schema=None) as batch_op:
        batch_op.drop_index("ix_batch_levels_location_id_best_before")
    with op.batch_alter_table("stock_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_batches_frozen_at")
