"""Parallel requests on PostgreSQL (real commits): one product, one live application."""

from concurrent.futures import ThreadPoolExecutor

from flask_jwt_extended import create_access_token

from shop.auth.models import Role
from shop.db import transaction
from tests.factories import Factory


def test_parallel_applications_for_one_product_create_exactly_one(committed_app):
    with committed_app.app_context(), transaction(committed_app.extensions["shop"]["sessionmaker"]) as session:
        make = Factory(committed_app, session)
        product = make.product()
        member = make.user((Role.SUPPLIER_MEMBER, product.supplier_id))
        token = create_access_token(identity=str(member.id))
        product_id = product.id
    body = {
        "product_id": product_id,
        "production_base": "base",
        "expected_yearly_output": 10,
        "output_unit": "kg",
        "households_benefiting": 3,
    }

    def apply(_):
        client = committed_app.test_client()
        return client.post("/api/v1/certifications", json=body, headers={"Authorization": f"Bearer {token}"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(apply, range(16)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) == {201, 409}
