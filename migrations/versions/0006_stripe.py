"""stripe: payment attempts at gateways, gateway events stored once, refund kinds

Revision ID: 0006_stripe
Revises: 0005_orders
Create Date: 2026-11-28 21:50:49.337085
"""

from alembic import op
import sqlalchemy as sa
import shop.db


revision = '0006_stripe'
down_revision = '0005_orders'
branch_labels = None
depends_on = None

OLD_STATUSES = ('pending', 'succeeded', 'failed', 'cancelled')
NEW_STATUSES = (*OLD_STATUSES, 'returned')


def _status_check(statuses) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def upgrade() -> None:
    op.create_table('payment_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gateway', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Enum('webhook', 'reconcile', 'checkout', name='payment_event_source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=True),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('object_id', sa.String(length=255), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('occurred_at', shop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', shop.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_events_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_events')),
    sa.UniqueConstraint('gateway', 'event_id', name=op.f('uq_payment_events_gateway_event_id'))
    )
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_events_object_id'), ['object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_events_payment_id'), ['payment_id'], unique=False)

    # A new payment status ('returned'): the CHECK constraint is replaced (SQLite rebuilds the table).
    with op.batch_alter_table('payments', schema=None, recreate='auto') as batch_op:
        batch_op.drop_constraint(op.f('ck_payments_payment_status'), type_='check')
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('gateway_key', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('gateway_status', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('gateway_seen_at', shop.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('refunded_fen', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_check_constraint(op.f('ck_payments_payment_status'), _status_check(NEW_STATUSES))
        batch_op.create_check_constraint(op.f('ck_payments_refunded_non_negative'), 'refunded_fen >= 0')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.alter_column('refunded_fen', server_default=None)
        batch_op.create_index(batch_op.f('ix_payments_external_id'), ['external_id'], unique=True)
        batch_op.create_index('uq_payments_order_id_succeeded', ['order_id'], unique=True, postgresql_where=sa.text("status = 'succeeded'"), sqlite_where=sa.text("status = 'succeeded'"))

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('refund', 'outside', 'return', name='refund_kind', native_enum=False, create_constraint=True, length=32), nullable=False, server_default='refund'))
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_refunds_refund_kind'), type_='check')
        batch_op.drop_column('external_id')
        batch_op.drop_column('kind')
    op.execute("DROP INDEX IF EXISTS uq_payments_order_id_succeeded")
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_external_id'))
    op.execute("UPDATE payments SET status = 'cancelled' WHERE status = 'returned'")
    with op.batch_alter_table('payments', schema=None, recreate='auto') as batch_op:
        batch_op.drop_constraint(op.f('ck_payments_payment_status'), type_='check')
        batch_op.drop_constraint(op.f('ck_payments_refunded_non_negative'), type_='check')
        batch_op.drop_column('refunded_fen')
        batch_op.drop_column('gateway_seen_at')
        batch_op.drop_column('gateway_status')
        batch_op.drop_column('gateway_key')
        batch_op.drop_column('external_id')
        batch_op.create_check_constraint(op.f('ck_payments_payment_status'), _status_check(OLD_STATUSES))

    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_events_payment_id'))
        batch_op.drop_index(batch_op.f('ix_payment_events_object_id'))

    op.drop_table('payment_events')
