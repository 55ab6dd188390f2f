"""The data migration moves a database made before it: township ids, names, the added township, and
every reference to a moved township."""

import sqlalchemy as sa

from shop import migrate
from shop.db import make_engine

BEFORE = "0009_voucher_payments"
# the townships as the earlier data file loaded them (a sample: ids and the name that changed)
OLD = [
    (500156001, 500156, "后坪乡", "Houping", True),
    (500236002, 500236, "安坪镇", "Anping", False),
    (500229001, 500229, "鸡鸣乡", "Jiming", True),
]


def _townships(conn):
    rows = conn.execute(sa.text("SELECT id, district_id, name, deep_poverty FROM townships ORDER BY id"))
    return {row.id: (row.district_id, row.name, bool(row.deep_poverty)) for row in rows}


def test_a_database_made_before_moves_to_the_new_ids_and_names(scratch_database_url):
    migrate.upgrade(scratch_database_url, BEFORE)
    engine = make_engine(scratch_database_url)
    with engine.begin() as conn:
        fresh = _townships(conn)
        conn.execute(sa.text("DELETE FROM townships"))
        for row in OLD:
            conn.execute(
                sa.text(
                    "INSERT INTO townships (id, district_id, name, name_en, deep_poverty) VALUES (:i, :d, :n, :e, :p)"
                ),
                dict(zip("idnep", row, strict=True)),
            )
    migrate.upgrade(scratch_database_url)
    with engine.connect() as conn:
        moved = _townships(conn)
    assert moved[4] == (500156, "后坪苗族土家族乡", True)
    assert moved[10] == (500236, "安坪镇", False)
    assert moved[21] == (500229, "沿河乡", True)
    assert not [i for i in moved if i > 100]
    assert moved == fresh  # the same as a database built from the data file today

    migrate.downgrade(scratch_database_url, BEFORE)
    with engine.connect() as conn:
        back = _townships(conn)
    assert back[500156001] == (500156, "后坪乡", True) and 21 not in back
    engine.dispose()
