"""The migrations build an empty database to head, go down to base and up again, and agree with
the models (an autogenerate diff is empty). Runs in a scratch database of its own."""

import sqlalchemy as sa

from shop import migrate
from shop.db import make_engine


def _tables(url):
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_and_models_agree(scratch_database_url):
    migrate.upgrade(scratch_database_url)
    assert {"users", "products", "certifications", "districts"} <= _tables(scratch_database_url)
    migrate.check(scratch_database_url)
    migrate.downgrade(scratch_database_url, "base")
    assert _tables(scratch_database_url) == set()
    migrate.upgrade(scratch_database_url)
    migrate.check(scratch_database_url)
    engine = make_engine(scratch_database_url)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM districts")) == 38
    engine.dispose()
