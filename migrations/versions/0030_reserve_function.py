"""reserve_units: a checkout's reservation of one SKU at one location in one round trip (PostgreSQL)

The stock level's conditional UPDATE (which locks the level, where reservations of the SKU queue),
then, in a snapshot taken after that lock was granted, the earliest sellable batch's conditional
UPDATE and its ledger row. Sent as one call, the level is held for one statement and the commit,
not for a round trip more. The rule is shop.inventory.ledger's (the level, then the first batch in
FEFO order when it holds every unit; sellable_units): the function answers whether the level took
the units and which batch did, and leaves every other case to the caller. SQLite has no functions
of this kind and no row locks: it runs the same statements one by one.

Revision ID: 0030_reserve_function
Revises: 0031_product_price_min
"""

from alembic import op

revision = "0030_reserve_function"
down_revision = "0031_product_price_min"
branch_labels = None
depends_on = None

# Each statement of a VOLATILE PL/pgSQL function takes its own snapshot (READ COMMITTED): the batch
# is chosen after the level's lock, as when the statements are sent one by one.
RESERVE_UNITS = """
CREATE OR REPLACE FUNCTION reserve_units(
    p_location_id integer, p_sku_id integer, p_units integer, p_today date,
    p_now timestamptz, p_reservation_id integer, p_reference varchar
) RETURNS TABLE (level_reserved boolean, batch_id integer, units_left integer)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_batch integer;
    v_left integer;
BEGIN
    UPDATE stock_levels SET reserved = stock_levels.reserved + p_units
    WHERE stock_levels.location_id = p_location_id AND stock_levels.sku_id = p_sku_id
      AND stock_levels.on_hand >= stock_levels.reserved + p_units;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, NULL::integer, NULL::integer;
        RETURN;
    END IF;
    UPDATE batch_levels SET reserved = batch_levels.reserved + p_units
    WHERE batch_levels.location_id = p_location_id
      AND batch_levels.batch_id = (
          SELECT earliest.batch_id FROM batch_levels AS earliest
          WHERE earliest.location_id = p_location_id AND earliest.sku_id = p_sku_id
            AND earliest.best_before >= p_today AND earliest.on_hand > earliest.reserved
            AND earliest.quarantined_at IS NULL
            AND NOT EXISTS (
                SELECT 1 FROM stock_batches AS frozen_batch
                WHERE frozen_batch.id = earliest.batch_id AND frozen_batch.frozen_at IS NOT NULL
            )
          ORDER BY earliest.best_before, earliest.batch_id
          LIMIT 1
      )
      AND batch_levels.on_hand >= batch_levels.reserved + p_units
    RETURNING batch_levels.batch_id, batch_levels.on_hand - batch_levels.reserved INTO v_batch, v_left;
    IF NOT FOUND THEN
        RETURN QUERY SELECT true, NULL::integer, NULL::integer;
        RETURN;
    END IF;
    INSERT INTO stock_movements (
        kind, location_id, sku_id, batch_id, on_hand_delta, reserved_delta, created_at,
        reservation_id, reference
    ) VALUES (
        'reserve', p_location_id, p_sku_id, v_batch, 0, p_units, p_now, p_reservation_id, p_reference
    );
    RETURN QUERY SELECT true, v_batch, v_left;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RESERVE_UNITS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS reserve_units(integer, integer, integer, date, timestamptz, integer, varchar)"
        )
