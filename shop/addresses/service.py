"""A buyer's address book: at most MAX_ADDRESSES addresses, exactly one of them the default while
there is any. Every change of a book first locks its owner's user row, so parallel requests of one
buyer take turns (PostgreSQL); the partial unique index refuses a second default whatever happens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.addresses.errors import AddressBookFull
from shop.addresses.models import Address
from shop.addresses.regions import check_region_code
from shop.auth.models import User
from shop.errors import NotFound
from shop.paging import paginate

MAX_ADDRESSES = 20
FIELDS = ("recipient", "phone", "region_code", "detail", "postal_code")


def _lock_book(session: Session, user_id: int) -> None:
    session.execute(sa.select(User.id).where(User.id == user_id).with_for_update())


def list_addresses(session: Session, user_id: int, *, page: int, size: int):
    """The default first, then the newest."""
    stmt = sa.select(Address).where(Address.user_id == user_id)
    return paginate(session, stmt, order_by=(Address.is_default.desc(), Address.id.desc()), page=page, size=size)


def get_address(session: Session, user_id: int, address_id: int) -> Address:
    address = session.get(Address, address_id)
    if address is None or address.user_id != user_id:
        raise NotFound("No such address.")
    return address


def create_address(session: Session, user_id: int, *, data: dict, now: datetime) -> Address:
    """The first address is the default; a later one is when asked (and the former default is not)."""
    _lock_book(session, user_id)
    check_region_code(session, data["region_code"])
    count = session.scalar(sa.select(sa.func.count()).select_from(Address).where(Address.user_id == user_id))
    if count >= MAX_ADDRESSES:
        raise AddressBookFull(limit=MAX_ADDRESSES)
    default = bool(data.get("is_default")) or count == 0
    if default:
        _clear_default(session, user_id)
    address = Address(
        user_id=user_id,
        **{k: data.get(k) for k in FIELDS},
        is_default=default,
        created_at=now,
        updated_at=now,
    )
    session.add(address)
    session.flush()
    return address


def update_address(session: Session, user_id: int, address_id: int, *, data: dict, now: datetime) -> Address:
    _lock_book(session, user_id)
    address = get_address(session, user_id, address_id)
    if "region_code" in data:
        check_region_code(session, data["region_code"])
    for key in FIELDS:
        if key in data:
            setattr(address, key, data[key])
    address.updated_at = now
    session.flush()
    return address


def make_default(session: Session, user_id: int, address_id: int, *, now: datetime) -> Address:
    _lock_book(session, user_id)
    address = get_address(session, user_id, address_id)
    if not address.is_default:
        _clear_default(session, user_id)
        address.is_default = True
        address.updated_at = now
        session.flush()
    return address


def delete_address(session: Session, user_id: int, address_id: int) -> None:
    """Deleting the default makes the newest remaining address the default."""
    _lock_book(session, user_id)
    address = get_address(session, user_id, address_id)
    was_default = address.is_default
    session.delete(address)
    session.flush()
    if was_default:
        successor = session.scalar(
            sa.select(Address).where(Address.user_id == user_id).order_by(Address.id.desc()).limit(1)
        )
        if successor is not None:
            successor.is_default = True
            session.flush()


def _clear_default(session: Session, user_id: int) -> None:
    # its own flush before another address becomes the default: one flush may write rows in any order
    current = session.scalar(sa.select(Address).where(Address.user_id == user_id, Address.is_default))
    if current is not None:
        current.is_default = False
        session.flush()


def delivery_address(session: Session, user_id: int, address_id: int | None) -> dict | None:
    """What a delivery order keeps of an address (a copy: editing the book later changes no order):
    the given one, or the buyer's default when none is given; None when the buyer has none."""
    if address_id is not None:
        address = get_address(session, user_id, address_id)
    else:
        address = session.scalar(sa.select(Address).where(Address.user_id == user_id, Address.is_default))
        if address is None:
            return None
    return {
        "address_id": address.id,
        "name": address.recipient,
        "phone": address.phone,
        "region_code": address.region_code,
        "district_id": address.district_id,
        "address": address.detail,
        "postal_code": address.postal_code,
    }
