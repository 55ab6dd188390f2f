"""Page/size paging of a select, shared by every list use case."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session


def paginate(session: Session, stmt: sa.Select, *, order_by: Any, page: int, size: int) -> tuple[list, int]:
    """Return (items of the page, total). `order_by` must end in a unique key so pages are stable."""
    count = stmt.with_only_columns(sa.func.count(), maintain_column_froms=True).order_by(None)
    total = session.scalar(count) or 0
    order = order_by if isinstance(order_by, list | tuple) else [order_by]
    items = session.scalars(stmt.order_by(*order).limit(size).offset((page - 1) * size)).all()
    return list(items), total
