"""products.price_min_fen: the lowest active SKU price, kept by triggers, indexed for the price sorts

Revision ID: 0031_product_price_min
Revises: 0028_console
"""

import sqlalchemy as sa
from alembic import op

revision = "0031_product_price_min"
down_revision = "0028_console"
branch_labels = None
depends_on = None

MIN_OF = "(SELECT min(price_fen) FROM skus WHERE skus.product_id = {pid} AND skus.is_active)"

# PostgreSQL: the product's row is locked first, so two transactions changing SKUs of one product
# take turns, and the minimum is read after the lock (a fresh snapshot under READ COMMITTED): the
# second sees the first's committed SKU, and the stored minimum is never that of a state that was
# not committed.
PG_FUNCTION = f"""
CREATE FUNCTION products_price_min_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pid integer;
BEGIN
    FOR pid IN
        SELECT DISTINCT p FROM unnest(ARRAY[
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.product_id END,
            CASE WHEN TG_OP <> 'DELETE' THEN NEW.product_id END
        ]) AS p WHERE p IS NOT NULL ORDER BY p
    LOOP
        PERFORM 1 FROM products WHERE id = pid FOR UPDATE;
        UPDATE products SET price_min_fen = {MIN_OF.format(pid="pid")} WHERE id = pid;
    END LOOP;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.add_column("products", sa.Column("price_min_fen", sa.Integer(), nullable=True))
    op.execute(f"UPDATE products SET price_min_fen = {MIN_OF.format(pid='products.id')}")
    op.create_index("ix_products_price_min_fen_id", "products", ["price_min_fen", "id"])
    op.create_index("ix_products_origin_district_id_price_min_fen", "products", ["origin_district_id", "price_min_fen"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER skus_price_min AFTER INSERT OR DELETE OR UPDATE OF price_fen, is_active, product_id "
            "ON skus FOR EACH ROW EXECUTE FUNCTION products_price_min_refresh()"
        )
    else:
        op.execute(
            "CREATE TRIGGER skus_price_min_ai AFTER INSERT ON skus BEGIN "
            f"UPDATE products SET price_min_fen = {MIN_OF.format(pid='NEW.product_id')} WHERE id = NEW.product_id; END"
        )
        op.execute(
            "CREATE TRIGGER skus_price_min_ad AFTER DELETE ON skus BEGIN "
            f"UPDATE products SET price_min_fen = {MIN_OF.format(pid='OLD.product_id')} WHERE id = OLD.product_id; END"
        )
        op.execute(
            "CREATE TRIGGER skus_price_min_au AFTER UPDATE OF price_fen, is_active, product_id ON skus BEGIN "
            f"UPDATE products SET price_min_fen = {MIN_OF.format(pid='OLD.product_id')} WHERE id = OLD.product_id; "
            f"UPDATE products SET price_min_fen = {MIN_OF.format(pid='NEW.product_id')} WHERE id = NEW.product_id; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER skus_price_min ON skus")
        op.execute("DROP FUNCTION products_price_min_refresh()")
    else:
        for name in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER skus_price_min_{name}")
    op.drop_index("ix_products_origin_district_id_price_min_fen", table_name="products")
    op.drop_index("ix_products_price_min_fen_id", table_name="products")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("price_min_fen")
