"""What the public trace page shows of spot checks (kept apart so inventory imports no service)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.supervision.models import Inspection


def inspections_of_batch(session: Session, batch) -> list[Inspection]:
    """Spot checks of the batch itself or of its product as a whole, newest first."""
    return list(
        session.scalars(
            sa.select(Inspection)
            .where(
                sa.or_(
                    Inspection.batch_id == batch.id,
                    sa.and_(Inspection.batch_id.is_(None), Inspection.product_id == batch.sku.product_id),
                )
            )
            .order_by(Inspection.inspected_at.desc(), Inspection.id.desc())
        )
    )
