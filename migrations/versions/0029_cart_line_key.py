"""cart lines: one line per key, NULL offer and slot included (PostgreSQL's NULLS NOT DISTINCT)

Revision ID: 0029_cart_line_key
Revises: 0023_monitoring
Create Date: 2026-12-01 10:45:00.000000
"""

from alembic import op


revision = "0029_cart_line_key"
down_revision = "0023_monitoring"
branch_labels = None
depends_on = None

NAME = "uq_cart_lines_user_id_sku_id_location_id_fulfilment_rush_sale_id_slot_id"
COLUMNS = ["user_id", "sku_id", "location_id", "fulfilment", "rush_sale_id", "slot_id"]
KEY = "user_id, sku_id, location_id, fulfilment, coalesce(rush_sale_id, 0), coalesce(slot_id, 0)"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite serialises the adds that could have made two lines of one key
    # Parallel adds could leave two lines of one key: the first takes the others' units, which go.
    op.execute(
        f"""
        UPDATE cart_lines SET quantity = (
            SELECT least(sum(other.quantity), 10000) FROM cart_lines AS other
            WHERE (other.user_id, other.sku_id, other.location_id, other.fulfilment,
                   coalesce(other.rush_sale_id, 0), coalesce(other.slot_id, 0))
                = (cart_lines.user_id, cart_lines.sku_id, cart_lines.location_id, cart_lines.fulfilment,
                   coalesce(cart_lines.rush_sale_id, 0), coalesce(cart_lines.slot_id, 0))
        )
        WHERE id IN (SELECT min(id) FROM cart_lines GROUP BY {KEY} HAVING count(*) > 1)
        """
    )
    op.execute(f"DELETE FROM cart_lines WHERE id NOT IN (SELECT min(id) FROM cart_lines GROUP BY {KEY})")
    op.drop_constraint(op.f(NAME), "cart_lines", type_="unique")
    op.create_unique_constraint(op.f(NAME), "cart_lines", COLUMNS, postgresql_nulls_not_distinct=True)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_constraint(op.f(NAME), "cart_lines", type_="unique")
    op.create_unique_constraint(op.f(NAME), "cart_lines", COLUMNS)
