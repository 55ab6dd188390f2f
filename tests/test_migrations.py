"""The migrations build an empty database to head, go down to base and up again, and agree with
the models (an autogenerate diff is empty). Runs in a scratch database of its own."""

import uuid

import pytest
import sqlalchemy as sa

from shop import migrate
from shop.db import make_engine


@pytest.fixture
def scratch_url(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"shop_scratch_{uuid.uuid4().hex[:10]}"
    admin = make_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(database_url).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _tables(url):
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_and_models_agree(scratch_url):
    migrate.upgrade(scratch_url)
    assert {"users", "products", "certifications", "districts"} <= _tables(scratch_url)
    migrate.check(scratch_url)
    migrate.downgrade(scratch_url, "base")
    assert _tables(scratch_url) == set()
    migrate.upgrade(scratch_url)
    migrate.check(scratch_url)
    engine = make_engine(scratch_url)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM districts")) == 38
    engine.dispose()
