from __future__ import annotations

import sqlalchemy as sa

from shop.certification.models import Certification

P = "/api/v1"


def cert_of(session, product) -> Certification:
    return session.scalar(
        sa.select(Certification).where(Certification.product_id == product.id).order_by(Certification.id.desc())
    )


def apply_body(product_id: int, base: str = "生产基地") -> dict:
    return {
        "product_id": product_id,
        "production_base": base,
        "expected_yearly_output": 1000,
        "output_unit": "kg",
        "households_benefiting": 3,
    }
