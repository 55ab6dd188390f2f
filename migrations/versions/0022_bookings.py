"""bookings: offerings, slots with capacity, bookings; service lines in carts, orders and union trips

Revision ID: 0022_bookings
Revises: 0020_addresses
"""

from alembic import op
import sqlalchemy as sa
import shop.db


revision = "0022_bookings"
down_revision = "0020_addresses"
branch_labels = None
depends_on = None

BOOKING_STATUSES = ("held", "confirmed", "checked_in", "no_show", "cancelled")


def _enum(name: str, values) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _check(table: str, name: str, column: str, values) -> None:
    """Replace an enum's CHECK constraint with one allowing `values`."""
    allowed = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f"ck_{table}_{name}"), type_="check")
        batch_op.create_check_constraint(batch_op.f(f"ck_{table}_{name}"), f"{column} IN ({allowed})")


def upgrade() -> None:
    op.create_table('booking_offerings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('unit_kind', _enum('booking_unit_kind', ('room', 'seat', 'place')), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('meeting_point', sa.String(length=300), nullable=False),
    sa.Column('how_to_book', sa.String(length=1000), nullable=False),
    sa.Column('guests_per_unit', sa.Integer(), nullable=False),
    sa.Column('min_party', sa.Integer(), nullable=False),
    sa.Column('max_party', sa.Integer(), nullable=False),
    sa.Column('weekday_price_fen', sa.Integer(), nullable=False),
    sa.Column('weekend_price_fen', sa.Integer(), nullable=False),
    sa.Column('holiday_price_fen', sa.Integer(), nullable=False),
    sa.Column('free_cancel_days', sa.Integer(), nullable=False),
    sa.Column('late_refund_bp', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', shop.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('min_party >= 1 AND max_party >= min_party', name=op.f('ck_booking_offerings_party_range')),
    sa.CheckConstraint('guests_per_unit >= 1', name=op.f('ck_booking_offerings_guests_per_unit_positive')),
    sa.CheckConstraint('weekday_price_fen > 0 AND weekend_price_fen > 0 AND holiday_price_fen > 0', name=op.f('ck_booking_offerings_prices_positive')),
    sa.CheckConstraint('free_cancel_days >= 0', name=op.f('ck_booking_offerings_free_cancel_days_non_negative')),
    sa.CheckConstraint('late_refund_bp >= 0 AND late_refund_bp <= 10000', name=op.f('ck_booking_offerings_late_refund_within_whole')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_booking_offerings_product_id_products')),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_booking_offerings_sku_id_skus')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_offerings')),
    sa.UniqueConstraint('sku_id', name=op.f('uq_booking_offerings_sku_id'))
    )
    with op.batch_alter_table('booking_offerings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_offerings_product_id'), ['product_id'], unique=False)

    op.create_table('booking_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offering_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('starts_at', shop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', shop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), nullable=False),
    sa.Column('day_type', _enum('booking_day_type', ('weekday', 'weekend', 'holiday')), nullable=False),
    sa.Column('price_fen', sa.Integer(), nullable=False),
    sa.Column('is_closed', sa.Boolean(), nullable=False),
    sa.CheckConstraint('booked >= 0 AND booked <= capacity', name=op.f('ck_booking_slots_booked_within_capacity')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_booking_slots_ends_after_start')),
    sa.CheckConstraint('price_fen > 0', name=op.f('ck_booking_slots_price_positive')),
    sa.ForeignKeyConstraint(['offering_id'], ['booking_offerings.id'], name=op.f('fk_booking_slots_offering_id_booking_offerings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_slots')),
    sa.UniqueConstraint('offering_id', 'starts_at', name=op.f('uq_booking_slots_offering_id_starts_at'))
    )
    with op.batch_alter_table('booking_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_slots_day'), ['day'], unique=False)
        batch_op.create_index('ix_booking_slots_offering_id_day', ['offering_id', 'day'], unique=False)

    op.create_table('bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('offering_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('order_line_id', sa.Integer(), nullable=True),
    sa.Column('bulk_order_id', sa.Integer(), nullable=True),
    sa.Column('bulk_line_id', sa.Integer(), nullable=True),
    sa.Column('guest_name', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('party_size', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('refunded_fen', sa.Integer(), nullable=False),
    sa.Column('status', _enum('booking_status', BOOKING_STATUSES), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=True),
    sa.Column('code_attempts', sa.Integer(), nullable=False),
    sa.Column('code_locked_at', shop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', shop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_in_at', shop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', shop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', shop.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(order_id IS NULL) <> (bulk_order_id IS NULL)', name=op.f('ck_bookings_one_purchase')),
    sa.CheckConstraint('units > 0 AND party_size > 0', name=op.f('ck_bookings_units_positive')),
    sa.CheckConstraint('refunded_fen >= 0 AND refunded_fen <= amount_fen', name=op.f('ck_bookings_refund_within_amount')),
    sa.ForeignKeyConstraint(['bulk_line_id'], ['bulk_order_lines.id'], name=op.f('fk_bookings_bulk_line_id_bulk_order_lines')),
    sa.ForeignKeyConstraint(['bulk_order_id'], ['bulk_orders.id'], name=op.f('fk_bookings_bulk_order_id_bulk_orders')),
    sa.ForeignKeyConstraint(['offering_id'], ['booking_offerings.id'], name=op.f('fk_bookings_offering_id_booking_offerings')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_bookings_order_id_orders')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_bookings_order_line_id_order_lines')),
    sa.ForeignKeyConstraint(['slot_id'], ['booking_slots.id'], name=op.f('fk_bookings_slot_id_booking_slots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bookings_bulk_order_id'), ['bulk_order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_offering_id'), ['offering_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_bookings_slot_id_status', ['slot_id', 'status'], unique=False)

    op.create_table('booking_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('from_status', _enum('booking_event_from', BOOKING_STATUSES), nullable=True),
    sa.Column('to_status', _enum('booking_event_to', BOOKING_STATUSES), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', shop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_booking_events_actor_id_users')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_booking_events_booking_id_bookings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_events'))
    )
    with op.batch_alter_table('booking_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_events_booking_id'), ['booking_id'], unique=False)

    with op.batch_alter_table('cart_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slot_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('party_size', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_cart_lines_slot_id_booking_slots'), 'booking_slots', ['slot_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('uq_cart_lines_user_id_sku_id_location_id_fulfilment_rush_sale_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_cart_lines_user_id_sku_id_location_id_fulfilment_rush_sale_id_slot_id'), ['user_id', 'sku_id', 'location_id', 'fulfilment', 'rush_sale_id', 'slot_id'])
    _check('cart_lines', 'fulfilment', 'fulfilment', ('pickup', 'delivery', 'booking'))
    _check('orders', 'order_fulfilment', 'fulfilment', ('pickup', 'delivery', 'booking'))

    with op.batch_alter_table('bulk_order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slot_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('refunded_fen', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('cancelled_at', shop.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_bulk_order_lines_slot_id_booking_slots'), 'booking_slots', ['slot_id'], ['id'])
    with op.batch_alter_table('bulk_order_lines', schema=None) as batch_op:
        batch_op.alter_column('refunded_fen', server_default=None)
    _check('bulk_orders', 'bulk_order_kind', 'kind', ('goods', 'vouchers', 'trip'))


def downgrade() -> None:
    op.execute("DELETE FROM bulk_order_lines WHERE bulk_order_id IN (SELECT id FROM bulk_orders WHERE kind = 'trip')")
    op.execute("DELETE FROM bulk_orders WHERE kind = 'trip'")
    _check('bulk_orders', 'bulk_order_kind', 'kind', ('goods', 'vouchers'))
    with op.batch_alter_table('bulk_order_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bulk_order_lines_slot_id_booking_slots'), type_='foreignkey')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('refunded_fen')
        batch_op.drop_column('slot_id')

    op.execute("DELETE FROM cart_lines WHERE fulfilment = 'booking'")
    _check('orders', 'order_fulfilment', 'fulfilment', ('pickup', 'delivery'))
    _check('cart_lines', 'fulfilment', 'fulfilment', ('pickup', 'delivery'))
    with op.batch_alter_table('cart_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_cart_lines_user_id_sku_id_location_id_fulfilment_rush_sale_id_slot_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_cart_lines_user_id_sku_id_location_id_fulfilment_rush_sale_id'), ['user_id', 'sku_id', 'location_id', 'fulfilment', 'rush_sale_id'])
        batch_op.drop_constraint(batch_op.f('fk_cart_lines_slot_id_booking_slots'), type_='foreignkey')
        batch_op.drop_column('party_size')
        batch_op.drop_column('slot_id')

    with op.batch_alter_table('booking_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_events_booking_id'))
    op.drop_table('booking_events')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_slot_id_status')
        batch_op.drop_index(batch_op.f('ix_bookings_order_id'))
        batch_op.drop_index(batch_op.f('ix_bookings_offering_id'))
        batch_op.drop_index(batch_op.f('ix_bookings_bulk_order_id'))
    op.drop_table('bookings')
    with op.batch_alter_table('booking_slots', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_slots_offering_id_day')
        batch_op.drop_index(batch_op.f('ix_booking_slots_day'))
    op.drop_table('booking_slots')
    with op.batch_alter_table('booking_offerings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_offerings_product_id'))
    op.drop_table('booking_offerings')
