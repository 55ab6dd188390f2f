from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from shop.errors import InvalidInput, NotFound
from shop.paging import paginate
from shop.reference.models import District, Township


def list_districts(session: Session, *, poverty_alleviated: bool | None, page: int, size: int):
    stmt = sa.select(District)
    if poverty_alleviated is not None:
        stmt = stmt.where(District.poverty_alleviated == poverty_alleviated)
    return paginate(session, stmt, order_by=District.id, page=page, size=size)


def get_district(session: Session, district_id: int) -> District:
    district = session.scalar(
        sa.select(District).options(selectinload(District.townships)).where(District.id == district_id)
    )
    if district is None:
        raise NotFound("No such district.")
    return district


def list_townships(session: Session, *, district_id: int | None, deep_poverty: bool | None, page: int, size: int):
    stmt = sa.select(Township)
    if district_id is not None:
        stmt = stmt.where(Township.district_id == district_id)
    if deep_poverty is not None:
        stmt = stmt.where(Township.deep_poverty == deep_poverty)
    return paginate(session, stmt, order_by=Township.id, page=page, size=size)


def check_origin(session: Session, district_id: int, township_id: int | None) -> None:
    """Refuse an origin whose district is unknown or whose township lies in another district."""
    if session.get(District, district_id) is None:
        raise InvalidInput("Unknown district.", fields={"origin_district_id": ["Unknown district."]})
    if township_id is not None:
        township = session.get(Township, township_id)
        if township is None or township.district_id != district_id:
            raise InvalidInput(
                "The township is not in that district.",
                fields={"origin_township_id": ["Not a township of the district."]},
            )
