"""Locations (centre, halls, counters, zones) and the operators' scope.

Scope: admins run every location; a hall operator runs the locations of their grants and every
location under them. Whoever holds neither role is refused (403); an operator asking for a location
outside their scope is told it does not exist (404)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.errors import InvalidInput, NotFound
from shop.inventory.errors import (
    CentreExists,
    LocationInactive,
)
from shop.inventory.models import (
    CHINA,
    PARENT_KINDS,
    Location,
    LocationKind,
)
from shop.paging import paginate
from shop.reference.models import District

LOCATION_FIELDS = ("name", "address", "host_institution", "opening_hours", "is_active", "district_id")


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def require_operator(actor: Actor) -> None:
    actor.require(Role.HALL_OPERATOR)


def scope_clause(actor: Actor, column_path=Location.path) -> sa.ColumnElement[bool] | None:
    """SQL condition "the location is within the actor's scope"; None for admins (everything)."""
    if actor.is_admin:
        return None
    scopes = sorted(actor.scopes(Role.HALL_OPERATOR))
    if not scopes:
        return sa.false()
    return sa.or_(*(column_path.contains(f"/{scope}/") for scope in scopes))


def can_run(actor: Actor, location: Location) -> bool:
    return actor.is_admin or location.within(actor.scopes(Role.HALL_OPERATOR))


def get_location(session: Session, actor: Actor, location_id: int) -> Location:
    """A location the actor runs; 404 if it does not exist or lies outside their scope."""
    require_operator(actor)
    location = session.scalar(
        sa.select(Location)
        .options(joinedload(Location.district), selectinload(Location.device))
        .where(Location.id == location_id)
    )
    if location is None or not can_run(actor, location):
        raise NotFound("No such location.")
    return location


def require_active(location: Location) -> None:
    if not location.is_active:
        raise LocationInactive(location_id=location.id)


def create_location(session: Session, actor: Actor, *, data: dict) -> Location:
    actor.require(Role.ADMIN)
    kind = LocationKind(data["kind"])
    parent = None
    if kind == LocationKind.CENTRE:
        if data.get("parent_id") is not None:
            raise InvalidInput("The centre is the root.", fields={"parent_id": ["Must be empty for the centre."]})
        if session.scalar(sa.select(Location.id).where(Location.kind == LocationKind.CENTRE)) is not None:
            raise CentreExists("There is one centre, and it exists already.")
    else:
        parent = session.get(Location, data.get("parent_id") or 0)
        allowed = PARENT_KINDS[kind]
        if parent is None or parent.kind not in allowed:
            kinds = " or ".join(sorted(k.value for k in allowed))
            raise InvalidInput(f"A {kind.value} hangs under a {kinds}.", fields={"parent_id": [f"Must be a {kinds}."]})
    if data.get("host_institution") and kind != LocationKind.COUNTER:
        raise InvalidInput(
            "Only a counter has a host institution.", fields={"host_institution": ["Only for counters."]}
        )
    _check_district(session, data["district_id"])
    location = Location(
        kind=kind,
        parent_id=parent.id if parent else None,
        **{k: data[k] for k in LOCATION_FIELDS if k in data},
    )
    session.add(location)
    session.flush()
    location.path = f"{parent.path if parent else '/'}{location.id}/"
    session.flush()
    return location


def _check_district(session: Session, district_id: int) -> None:
    if session.get(District, district_id) is None:
        raise InvalidInput("Unknown district.", fields={"district_id": ["Unknown district."]})


def update_location(session: Session, actor: Actor, location_id: int, *, data: dict) -> Location:
    actor.require(Role.ADMIN)
    location = get_location(session, actor, location_id)
    if data.get("host_institution") and location.kind != LocationKind.COUNTER:
        raise InvalidInput(
            "Only a counter has a host institution.", fields={"host_institution": ["Only for counters."]}
        )
    if "district_id" in data:
        _check_district(session, data["district_id"])
    for key in LOCATION_FIELDS:
        if key in data:
            setattr(location, key, data[key])
    session.flush()
    return location


def list_locations(session: Session, actor: Actor, *, filters: dict, page: int, size: int):
    require_operator(actor)
    stmt = sa.select(Location).options(joinedload(Location.district), selectinload(Location.device))
    scope = scope_clause(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    for key in ("kind", "district_id", "parent_id", "is_active"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Location, key) == filters[key])
    if filters.get("q"):
        like = f"%{filters['q']}%"
        stmt = stmt.where(sa.or_(Location.name.like(like), Location.address.like(like)))
    return paginate(session, stmt, order_by=[Location.path, Location.id], page=page, size=size)


def is_open(opening_hours: dict, now: datetime) -> bool:
    """Whether the structured opening hours say the location is open at `now` (China time)."""
    local = now.astimezone(CHINA)
    hhmm = local.strftime("%H:%M")
    return any(
        interval["opens"] <= hhmm < interval["closes"]
        for interval in (opening_hours or {}).get(WEEKDAYS[local.weekday()], [])
    )


def list_public_locations(session: Session, *, district_id: int | None, now: datetime, page: int, size: int):
    """The halls, counters and zones the public may visit (active ones; not the centre), in tree
    order, each with whether it is open at `now`."""
    stmt = (
        sa.select(Location)
        .options(joinedload(Location.district))
        .where(Location.is_active, Location.kind != LocationKind.CENTRE)
    )
    if district_id is not None:
        stmt = stmt.where(Location.district_id == district_id)
    items, total = paginate(session, stmt, order_by=[Location.path, Location.id], page=page, size=size)
    return [{"location": loc, "open_now": is_open(loc.opening_hours, now)} for loc in items], total
