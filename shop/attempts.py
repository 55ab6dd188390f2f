"""Wrong codes counted against a row (a pick-up code, a booking code): one conditional UPDATE, so
parallel guesses cannot pass the limit."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session


def count_wrong(session: Session, row, *, attempts: str, locked_at: str, limit: int) -> int | None:
    """Add one wrong attempt to `row` (its `attempts` column) unless it is locked or at the limit;
    return the count after, or None when it was not counted (locked meanwhile). `row` is refreshed."""
    model = type(row)
    counted = session.execute(
        sa.update(model)
        .where(model.id == row.id, getattr(model, locked_at).is_(None), getattr(model, attempts) < limit)
        .values({attempts: getattr(model, attempts) + 1}),
        execution_options={"synchronize_session": False},
    ).rowcount
    session.refresh(row, [attempts, locked_at])
    return getattr(row, attempts) if counted else None
