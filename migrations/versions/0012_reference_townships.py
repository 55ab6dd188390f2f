"""reference data: township ids no longer shaped like official codes; official name of 后坪苗族土家族乡;
城口县沿河乡 among the former deep-poverty townships

A data migration. The first migration loads shop/reference/chongqing.json as it is when it runs, so a
new database already has this state and every step below finds nothing to do; a database made
before moves its townships to their new ids, references included. Products whose township changed
are queued for the search engine (search_outbox).

Revision ID: 0012_reference_townships
Revises: 0011_search_stock
Create Date: 2026-12-01 03:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import shop.db

revision = "0012_reference_townships"
down_revision = "0011_search_stock"
branch_labels = None
depends_on = None

# old id -> new id, for the townships loaded before this revision
RENUMBERED = {
    500101001: 1, 500114001: 2, 500154001: 3, 500156001: 4, 500156002: 5, 500229001: 6, 500230001: 7,
    500235001: 8, 500236001: 9, 500236002: 10, 500237001: 11, 500237002: 12, 500238001: 13, 500240001: 14,
    500241001: 15, 500242001: 16, 500242002: 17, 500243001: 18, 500243002: 19, 500102001: 20,
}  # fmt: skip
# the rows as this revision leaves them (frozen here: the data file may change later)
TOWNSHIPS = [
    (1, 500101, "龙驹镇", "Longju", True),
    (2, 500114, "金溪镇", "Jinxi", True),
    (3, 500154, "大进镇", "Dajin", True),
    (4, 500156, "后坪苗族土家族乡", "Houping", True),
    (5, 500156, "仙女山街道", "Xiannüshan", False),
    (6, 500229, "鸡鸣乡", "Jiming", True),
    (7, 500230, "三建乡", "Sanjian", True),
    (8, 500235, "泥溪镇", "Nixi", True),
    (9, 500236, "平安乡", "Ping'an", True),
    (10, 500236, "安坪镇", "Anping", False),
    (11, 500237, "双龙镇", "Shuanglong", True),
    (12, 500237, "曲尺乡", "Quchi", False),
    (13, 500238, "红池坝镇", "Hongchiba", True),
    (14, 500240, "中益乡", "Zhongyi", True),
    (15, 500241, "隘口镇", "Aikou", True),
    (16, 500242, "车田乡", "Chetian", True),
    (17, 500242, "浪坪乡", "Langping", True),
    (18, 500243, "大垭乡", "Daya", True),
    (19, 500243, "三义乡", "Sanyi", True),
    (20, 500102, "百胜镇", "Baisheng", False),
    (21, 500229, "沿河乡", "Yanhe", True),
]
# the columns that name a township
REFERENCES = (("products", "origin_township_id"), ("certifications", "township_id"), ("search_documents", "township_id"))


def upgrade() -> None:
    _move(RENUMBERED, {row[0]: row for row in TOWNSHIPS})


def downgrade() -> None:
    back = {new: old for old, new in RENUMBERED.items()}
    rows = {old: (old, *_old_row(new)) for new, old in back.items()}
    _move(back, rows)
    op.get_bind().execute(sa.text("DELETE FROM townships WHERE id = 21 AND name = '沿河乡'"))


def _old_row(new_id: int) -> tuple:
    _, district, name, name_en, deep = TOWNSHIPS[new_id - 1]
    return district, "后坪乡" if new_id == 4 else name, name_en, deep


def _move(ids: dict[int, int], rows: dict[int, tuple]) -> None:
    conn = op.get_bind()
    changed: set[int] = set()
    for old, new in ids.items():
        if conn.execute(sa.text("SELECT 1 FROM townships WHERE id = :id"), {"id": old}).first() is None:
            continue
        # free the (district, name) pair for the new row, then repoint every reference to it
        conn.execute(sa.text("UPDATE townships SET name = :tmp WHERE id = :id"), {"tmp": f"~{old}", "id": old})
        _insert(conn, rows[new])
        for table, column in REFERENCES:
            conn.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"), {"new": new, "old": old})
        conn.execute(sa.text("DELETE FROM townships WHERE id = :id"), {"id": old})
        changed.add(new)
    for row in rows.values():
        current = conn.execute(
            sa.text("SELECT name, deep_poverty FROM townships WHERE id = :id"), {"id": row[0]}
        ).first()
        if current is None:
            _insert(conn, row)
        elif (current.name, bool(current.deep_poverty)) != (row[2], row[4]):
            conn.execute(
                sa.text("UPDATE townships SET name = :name, deep_poverty = :deep WHERE id = :id"),
                {"name": row[2], "deep": row[4], "id": row[0]},
            )
            changed.add(row[0])
    if changed:
        conn.execute(
            sa.text(
                "INSERT INTO search_outbox (product_id, created_at) "
                "SELECT id, :now FROM products WHERE origin_township_id IN :ids"
            ).bindparams(sa.bindparam("ids", expanding=True), sa.bindparam("now", type_=shop.db.UTCDateTime())),
            {"now": datetime.now(UTC), "ids": sorted(changed)},
        )


def _insert(conn, row: tuple) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO townships (id, district_id, name, name_en, deep_poverty) "
            "VALUES (:id, :district, :name, :name_en, :deep)"
        ),
        dict(zip(("id", "district", "name", "name_en", "deep"), row, strict=True)),
    )
