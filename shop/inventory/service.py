"""Inventory use cases: locations, stock views, receiving, sales, returns, counts, write-offs, transfers,
reservations for orders, the low-stock report, and the public availability and trace answers.

Every change of stock goes through `shop.inventory.ledger` (lock, conditional UPDATE, movement row).
Scope: admins run every location; a hall operator runs the locations of their grants and every
location under them. Whoever holds neither role is refused (403); an operator asking for a location
outside their scope is told it does not exist (404)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Product, ProductKind, Sku
from shop.certification.models import Certification
from shop.certification.query import current_certifications, product_in_force
from shop.db import UTCDateTime
from shop.errors import Forbidden, InvalidInput, NotFound
from shop.inventory import ledger
from shop.inventory.errors import (
    CentreExists,
    CountBelowReserved,
    LocationInactive,
    NotInForce,
    ReferenceReused,
    ReservationNotSold,
    ReservedBatchExpired,
    ReturnExceedsSale,
    TraceCodeMismatch,
)
from shop.inventory.ledger import BATCH_LEVELS, LEVELS, Move
from shop.inventory.models import (
    CHINA,
    PARENT_KINDS,
    Batch,
    BatchLevel,
    Location,
    LocationKind,
    Movement,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    Transfer,
    TransferLine,
    TransferStatus,
    china_today,
    not_frozen,
)
from shop.paging import paginate
from shop.reference.models import District
from shop.supervision.inspections_query import inspections_of_batch

LOCATION_FIELDS = ("name", "address", "host_institution", "opening_hours", "is_active", "district_id")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --- scope ---------------------------------------------------------------------------------------


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


def _require_active(location: Location) -> None:
    if not location.is_active:
        raise LocationInactive(location_id=location.id)


# --- locations -----------------------------------------------------------------------------------


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


# --- stock views ---------------------------------------------------------------------------------


def _rows_page(session: Session, stmt: sa.Select, *, order_by: list, page: int, size: int):
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.execute(stmt.order_by(*order_by).limit(size).offset((page - 1) * size)).all()
    return rows, total


def _sellable(today: date) -> sa.ScalarSelect:
    """Units available (on hand, not reserved) in unexpired batches of the level's SKU and location."""
    b = BATCH_LEVELS
    return (
        sa.select(sa.func.coalesce(sa.func.sum(b.c.on_hand - b.c.reserved), 0))
        .where(
            b.c.location_id == LEVELS.c.location_id,
            b.c.sku_id == LEVELS.c.sku_id,
            b.c.best_before >= today,
            not_frozen(b.c.batch_id),
        )
        .scalar_subquery()
    )


def _expired(today: date) -> sa.ScalarSelect:
    b = BATCH_LEVELS
    return (
        sa.select(sa.func.coalesce(sa.func.sum(b.c.on_hand), 0))
        .where(b.c.location_id == LEVELS.c.location_id, b.c.sku_id == LEVELS.c.sku_id, b.c.best_before < today)
        .scalar_subquery()
    )


def _stock_select(today: date) -> sa.Select:
    sellable = _sellable(today).label("sellable")
    expired = _expired(today).label("expired")
    return (
        sa.select(StockLevel, Sku, Product.name.label("product_name"), sellable, expired)
        .join(Sku, Sku.id == StockLevel.sku_id)
        .join(Product, Product.id == Sku.product_id)
    )


def _stock_row(level: StockLevel, sku: Sku, product_name: str, sellable: int, expired: int) -> dict:
    threshold = level.low_stock_threshold
    return {
        "location_id": level.location_id,
        "sku": sku,
        "product_id": sku.product_id,
        "product_name": product_name,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": level.on_hand - level.reserved,
        "sellable": sellable,
        "expired": expired,
        "low_stock_threshold": threshold,
        "low": threshold > 0 and sellable <= threshold,
    }


def _low(today: date):
    return sa.and_(StockLevel.low_stock_threshold > 0, _sellable(today) <= StockLevel.low_stock_threshold)


def list_stock(session: Session, actor: Actor, location_id: int, *, filters: dict, now: datetime, page, size):
    get_location(session, actor, location_id)
    today = china_today(now)
    stmt = _stock_select(today).where(StockLevel.location_id == location_id)
    if filters.get("sku_id") is not None:
        stmt = stmt.where(StockLevel.sku_id == filters["sku_id"])
    if filters.get("product_id") is not None:
        stmt = stmt.where(Sku.product_id == filters["product_id"])
    if filters.get("low"):
        stmt = stmt.where(_low(today))
    if filters.get("in_stock"):
        stmt = stmt.where(StockLevel.on_hand > 0)
    rows, total = _rows_page(session, stmt, order_by=[StockLevel.sku_id], page=page, size=size)
    return [_stock_row(*row) for row in rows], total


def stock_rows(session: Session, location_id: int, sku_ids: list[int], now: datetime) -> list[dict]:
    """The stock rows of some SKUs at a location, as the stock list shows them."""
    if not sku_ids:
        return []
    rows = session.execute(
        _stock_select(china_today(now))
        .where(StockLevel.location_id == location_id, StockLevel.sku_id.in_(sorted(set(sku_ids))))
        .order_by(StockLevel.sku_id)
    ).all()
    return [_stock_row(*row) for row in rows]


def list_batches(session: Session, actor: Actor, location_id: int, *, filters: dict, now: datetime, page, size):
    get_location(session, actor, location_id)
    today = china_today(now)
    stmt = (
        sa.select(BatchLevel, Batch, Sku)
        .join(Batch, Batch.id == BatchLevel.batch_id)
        .join(Sku, Sku.id == BatchLevel.sku_id)
        .where(BatchLevel.location_id == location_id)
    )
    if filters.get("sku_id") is not None:
        stmt = stmt.where(BatchLevel.sku_id == filters["sku_id"])
    if filters.get("expired") is not None:
        stmt = stmt.where(BatchLevel.best_before < today if filters["expired"] else BatchLevel.best_before >= today)
    if not filters.get("include_empty"):
        stmt = stmt.where(BatchLevel.on_hand > 0)
    rows, total = _rows_page(
        session, stmt, order_by=[BatchLevel.sku_id, BatchLevel.best_before, BatchLevel.batch_id], page=page, size=size
    )
    return [
        {
            "batch_id": batch.id,
            "trace_code": batch.trace_code,
            "sku": sku,
            "produced_on": batch.produced_on,
            "best_before": batch.best_before,
            "expired": batch.best_before < today,
            "on_hand": level.on_hand,
            "reserved": level.reserved,
            "available": level.on_hand - level.reserved,
        }
        for level, batch, sku in rows
    ], total


def list_movements(session: Session, actor: Actor, location_id: int, *, filters: dict, page: int, size: int):
    get_location(session, actor, location_id)
    stmt = (
        sa.select(Movement)
        .options(joinedload(Movement.sku), joinedload(Movement.batch))
        .where(Movement.location_id == location_id)
    )
    for key in ("kind", "sku_id", "transfer_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Movement, key) == filters[key])
    if filters.get("trace_code"):
        stmt = stmt.where(Movement.batch_id.in_(sa.select(Batch.id).where(Batch.trace_code == filters["trace_code"])))
    if filters.get("since") is not None:
        stmt = stmt.where(Movement.created_at >= filters["since"])
    if filters.get("until") is not None:
        stmt = stmt.where(Movement.created_at < filters["until"])
    return paginate(session, stmt, order_by=Movement.id.desc(), page=page, size=size)


def set_threshold(session: Session, actor: Actor, location_id: int, sku_id: int, threshold: int, now: datetime):
    get_location(session, actor, location_id)
    if session.get(Sku, sku_id) is None:
        raise NotFound("No such SKU.")
    ledger.insert_ignore(
        session,
        LEVELS,
        [{"location_id": location_id, "sku_id": sku_id, "on_hand": 0, "reserved": 0, "low_stock_threshold": 0}],
        ["location_id", "sku_id"],
    )
    session.execute(
        LEVELS.update()
        .where(LEVELS.c.location_id == location_id, LEVELS.c.sku_id == sku_id)
        .values(low_stock_threshold=threshold)
    )
    return stock_rows(session, location_id, [sku_id], now)[0]


# --- what a movement use case returns -------------------------------------------------------------


@dataclass
class Applied:
    """What a use case moved at a location, for the response: lines and the SKUs' new stock rows."""

    location_id: int
    moves: list[Move]


def describe_moves(session: Session, moves: list[Move]) -> list[dict]:
    batch_ids = sorted({m.batch_id for m in moves})
    codes = (
        dict(session.execute(sa.select(Batch.id, Batch.trace_code).where(Batch.id.in_(batch_ids))).all())
        if batch_ids
        else {}
    )
    return [
        {
            "kind": m.kind,
            "sku_id": m.sku_id,
            "batch_id": m.batch_id,
            "trace_code": codes[m.batch_id],
            "best_before": m.best_before,
            "on_hand_delta": m.on_hand,
            "reserved_delta": m.reserved,
        }
        for m in moves
    ]


def describe(session: Session, applied: Applied, now: datetime) -> dict:
    return {
        "location_id": applied.location_id,
        "lines": describe_moves(session, applied.moves),
        "stock": stock_rows(session, applied.location_id, [m.sku_id for m in applied.moves], now),
    }


def _skus(session: Session, sku_ids: list[int]) -> dict[int, Sku]:
    wanted = sorted(set(sku_ids))
    skus = {
        sku.id: sku
        for sku in session.scalars(sa.select(Sku).options(joinedload(Sku.product)).where(Sku.id.in_(wanted)))
    }
    missing = [s for s in wanted if s not in skus]
    if missing:
        raise InvalidInput("Unknown SKU.", fields={"lines": [f"Unknown SKU {s}." for s in missing]}, sku_ids=missing)
    return skus


_LAPSED_SKUS = sa.select(Sku.id).where(
    Sku.id.in_(sa.bindparam("sku_ids", expanding=True)),
    ~product_in_force(Sku.product_id, sa.bindparam("now", type_=UTCDateTime())),
)


def _require_in_force(session: Session, sku_ids: list[int], now: datetime) -> None:
    lapsed = session.scalars(_LAPSED_SKUS, {"sku_ids": sorted(set(sku_ids)), "now": now}).all()
    if lapsed:
        raise NotInForce(sku_ids=sorted(lapsed))


def _batches_by_code(session: Session, codes: list[str]) -> dict[str, Batch]:
    wanted = sorted(set(codes))
    batches = {b.trace_code: b for b in session.scalars(sa.select(Batch).where(Batch.trace_code.in_(wanted)))}
    missing = [c for c in wanted if c not in batches]
    if missing:
        raise InvalidInput(
            "Unknown trace code.", fields={"lines": [f"Unknown trace code {c}." for c in missing]}, trace_codes=missing
        )
    return batches


def _merge(lines: list[dict], key: str, quantity: str = "quantity") -> dict:
    merged: dict = defaultdict(int)
    for line in lines:
        merged[line[key]] += line[quantity]
    return dict(merged)


# --- receiving, sales, returns, counts, write-offs -------------------------------------------------


def receive_stock(
    session: Session, actor: Actor, location_id: int, *, lines: list[dict], reference: str | None, now: datetime
) -> Applied:
    """A supplier's delivery: each line a batch (trace code, dates) of a SKU, received into stock."""
    location = get_location(session, actor, location_id)
    _require_active(location)
    today = china_today(now)
    skus = _skus(session, [line["sku_id"] for line in lines])
    services = sorted(s.id for s in skus.values() if s.product.kind == ProductKind.SERVICE)
    if services:
        raise InvalidInput("Services are not stocked.", fields={"lines": ["A service SKU has no stock."]})
    per_code: dict[str, dict] = {}
    for line in lines:
        if line["best_before"] < today:
            raise InvalidInput("That batch is past its best-before date.", fields={"lines": ["Expired batch."]})
        if line["produced_on"] > today or line["produced_on"] > line["best_before"]:
            raise InvalidInput(
                "The harvest or production date must be on or before today and the best-before date.",
                fields={"lines": ["Dates out of order."]},
            )
        seen = per_code.get(line["trace_code"])
        if seen is None:
            per_code[line["trace_code"]] = dict(line)
        elif _batch_key(seen) != _batch_key(line):
            raise InvalidInput("One trace code, two batches.", fields={"lines": ["Conflicting lines for a code."]})
        else:
            seen["quantity"] += line["quantity"]
    batches = _find_or_create_batches(session, list(per_code.values()), now)
    ledger.lock_levels(session, location_id, [line["sku_id"] for line in per_code.values()], create=True)
    moves = [
        Move(MovementKind.RECEIVE, b.sku_id, b.id, b.best_before, on_hand=per_code[code]["quantity"])
        for code, b in sorted(batches.items())
    ]
    ledger.apply(session, location_id, moves, now=now, actor_id=actor.user_id, reference=reference)
    return Applied(location_id, moves)


def _batch_key(line: dict) -> tuple:
    return (line["sku_id"], line["produced_on"], line["best_before"])


def _find_or_create_batches(session: Session, lines: list[dict], now: datetime) -> dict[str, Batch]:
    """The batch of each line by trace code, created if new; a known code must name the same batch."""
    ledger.insert_ignore(
        session,
        Batch.__table__,
        [
            {
                "sku_id": line["sku_id"],
                "trace_code": line["trace_code"],
                "produced_on": line["produced_on"],
                "best_before": line["best_before"],
                "created_at": now,
            }
            for line in sorted(lines, key=lambda line: line["trace_code"])
        ],
        ["trace_code"],
    )
    batches = _batches_by_code(session, [line["trace_code"] for line in lines])
    for line in lines:
        batch = batches[line["trace_code"]]
        if (batch.sku_id, batch.produced_on, batch.best_before) != _batch_key(line):
            raise TraceCodeMismatch(
                "This trace code belongs to a batch with another SKU or other dates.",
                trace_code=batch.trace_code,
            )
    return batches


def sell(
    session: Session,
    location_id: int,
    lines: list[dict],
    *,
    now: datetime,
    actor_id: int | None = None,
    counter_event_id: int | None = None,
    require_in_force: bool = True,
    reference: str | None = None,
) -> Applied:
    """Units of SKUs leave the shelf: earliest best-before first, never expired, never reserved.
    The caller checked the location; with `require_in_force` a product not in force is refused."""
    wanted = _merge(lines, "sku_id")
    levels = ledger.lock_levels(session, location_id, wanted)
    if set(wanted) - set(levels):  # never stocked here: unknown SKU (422) or out of stock (409)
        _skus(session, list(set(wanted) - set(levels)))
    if require_in_force:
        _require_in_force(session, list(wanted), now)
    today = china_today(now)
    moves = [
        Move(MovementKind.SALE, sku_id, batch_id, best_before, on_hand=-units)
        for sku_id, quantity in sorted(wanted.items())
        for batch_id, best_before, units in ledger.pick_fefo(session, location_id, sku_id, quantity, today)
    ]
    ledger.apply(
        session,
        location_id,
        moves,
        now=now,
        actor_id=actor_id,
        counter_event_id=counter_event_id,
        reference=reference,
    )
    return Applied(location_id, moves)


def record_sale(
    session: Session, actor: Actor, location_id: int, *, lines: list[dict], reference: str | None, now: datetime
) -> Applied:
    """A sale over the counter of a staffed hall, counter or zone."""
    location = get_location(session, actor, location_id)
    _require_active(location)
    return sell(session, location_id, lines, now=now, actor_id=actor.user_id, reference=reference)


def _batch_moves(
    session: Session, location_id: int, lines: list[dict], kind: MovementKind, sign: int, *, create: bool
) -> list[Move]:
    per_code = _merge(lines, "trace_code")
    batches = _batches_by_code(session, list(per_code))
    ledger.lock_levels(session, location_id, [b.sku_id for b in batches.values()], create=create)
    return [
        Move(kind, b.sku_id, b.id, b.best_before, on_hand=sign * per_code[code]) for code, b in sorted(batches.items())
    ]


def return_stock(
    session: Session, actor: Actor, location_id: int, *, lines: list[dict], reason: str, now: datetime
) -> Applied:
    """Sold units brought back by buyers, into the batch on their package."""
    get_location(session, actor, location_id)
    moves = _batch_moves(session, location_id, lines, MovementKind.RETURN, +1, create=True)
    ledger.apply(session, location_id, moves, now=now, actor_id=actor.user_id, reason=reason)
    return Applied(location_id, moves)


def write_off_stock(
    session: Session, actor: Actor, location_id: int, *, lines: list[dict], reason: str, now: datetime
) -> Applied:
    """Units that cannot be sold (expired, damaged) leave the books; reserved units cannot."""
    get_location(session, actor, location_id)
    moves = _batch_moves(session, location_id, lines, MovementKind.WRITE_OFF, -1, create=False)
    ledger.apply(session, location_id, moves, now=now, actor_id=actor.user_id, reason=reason)
    return Applied(location_id, moves)


def count_stock(
    session: Session, actor: Actor, location_id: int, *, lines: list[dict], reason: str, now: datetime
) -> Applied:
    """A stock count: each counted batch is adjusted to what was found, with the reason recorded.
    Batches not in the count keep their balance."""
    get_location(session, actor, location_id)
    counted: dict[str, int] = {}
    for line in lines:
        if counted.setdefault(line["trace_code"], line["counted"]) != line["counted"]:
            raise InvalidInput("A batch counted twice, differently.", fields={"lines": ["Duplicate trace code."]})
    batches = _batches_by_code(session, list(counted))
    ledger.lock_levels(session, location_id, [b.sku_id for b in batches.values()], create=True)
    current = {
        batch_id: (on_hand, reserved)
        for batch_id, on_hand, reserved in session.execute(
            sa.select(BATCH_LEVELS.c.batch_id, BATCH_LEVELS.c.on_hand, BATCH_LEVELS.c.reserved).where(
                BATCH_LEVELS.c.location_id == location_id,
                BATCH_LEVELS.c.batch_id.in_([b.id for b in batches.values()]),
            )
        )
    }
    moves = []
    for code, batch in sorted(batches.items()):
        on_hand, reserved = current.get(batch.id, (0, 0))
        if counted[code] < reserved:
            raise CountBelowReserved(
                "Fewer units counted than are reserved; release reservations first.",
                trace_code=code,
                counted=counted[code],
                reserved=reserved,
            )
        moves.append(Move(MovementKind.ADJUSTMENT, batch.sku_id, batch.id, batch.best_before, counted[code] - on_hand))
    ledger.apply(session, location_id, moves, now=now, actor_id=actor.user_id, reason=reason)
    return Applied(location_id, [m for m in moves if m.on_hand])


# --- transfers -------------------------------------------------------------------------------------


def _transfer_options():
    return (
        joinedload(Transfer.from_location),
        joinedload(Transfer.to_location),
        selectinload(Transfer.lines).joinedload(TransferLine.batch),
        selectinload(Transfer.lines).joinedload(TransferLine.sku),
    )


def dispatch_transfer(
    session: Session,
    actor: Actor,
    *,
    from_location_id: int,
    to_location_id: int,
    lines: list[dict],
    note: str,
    now: datetime,
) -> Transfer:
    """Send stock from a location the actor runs to another location; it is in transit until received.
    Lines name a SKU (picked FEFO among unexpired batches) or a batch by trace code."""
    get_location(session, actor, from_location_id)
    destination = session.get(Location, to_location_id)
    if destination is None:
        raise InvalidInput("Unknown destination.", fields={"to_location_id": ["Unknown location."]})
    if destination.id == from_location_id:
        raise InvalidInput("A transfer goes to another location.", fields={"to_location_id": ["Same as the source."]})
    _require_active(destination)
    by_code = [line for line in lines if line.get("trace_code")]
    by_sku = [line for line in lines if not line.get("trace_code")]
    batches = _batches_by_code(session, [line["trace_code"] for line in by_code]) if by_code else {}
    for line in by_code:
        if batches[line["trace_code"]].sku_id != line["sku_id"]:
            raise InvalidInput("That batch is of another SKU.", fields={"lines": ["Trace code and SKU differ."]})
    skus = _skus(session, [line["sku_id"] for line in lines])
    ledger.lock_levels(session, from_location_id, skus)
    today = china_today(now)
    taken: dict[int, int] = defaultdict(int)
    moves: list[Move] = []
    for code, quantity in sorted(_merge(by_code, "trace_code").items()):
        batch = batches[code]
        moves.append(Move(MovementKind.TRANSFER_OUT, batch.sku_id, batch.id, batch.best_before, on_hand=-quantity))
        taken[batch.id] += quantity
    for sku_id, quantity in sorted(_merge(by_sku, "sku_id").items()):
        for batch_id, best_before, units in ledger.pick_fefo(session, from_location_id, sku_id, quantity, today, taken):
            moves.append(Move(MovementKind.TRANSFER_OUT, sku_id, batch_id, best_before, on_hand=-units))
            taken[batch_id] += units
    transfer = Transfer(
        from_location_id=from_location_id,
        to_location_id=to_location_id,
        note=note,
        dispatched_at=now,
        dispatched_by_id=actor.user_id,
    )
    per_batch: dict[tuple[int, int], int] = defaultdict(int)
    for move in moves:
        per_batch[(move.sku_id, move.batch_id)] -= move.on_hand
    transfer.lines = [
        TransferLine(sku_id=sku_id, batch_id=batch_id, quantity_sent=quantity)
        for (sku_id, batch_id), quantity in sorted(per_batch.items())
    ]
    session.add(transfer)
    session.flush()
    ledger.apply(session, from_location_id, moves, now=now, actor_id=actor.user_id, transfer_id=transfer.id)
    return get_transfer(session, actor, transfer.id)


def _transfer_scope(actor: Actor, transfer: Transfer) -> tuple[bool, bool]:
    """(runs the source, runs the destination)."""
    return can_run(actor, transfer.from_location), can_run(actor, transfer.to_location)


def get_transfer(session: Session, actor: Actor, transfer_id: int, *, for_update: bool = False) -> Transfer:
    require_operator(actor)
    stmt = sa.select(Transfer).options(*_transfer_options()).where(Transfer.id == transfer_id)
    if for_update:
        stmt = stmt.with_for_update(of=Transfer).execution_options(populate_existing=True)
    transfer = session.scalar(stmt)
    if transfer is None or not any(_transfer_scope(actor, transfer)):
        raise NotFound("No such transfer.")
    return transfer


def list_transfers(session: Session, actor: Actor, *, filters: dict, page: int, size: int):
    require_operator(actor)
    source, destination = aliased(Location), aliased(Location)
    stmt = (
        sa.select(Transfer)
        .options(*_transfer_options())
        .join(source, source.id == Transfer.from_location_id)
        .join(destination, destination.id == Transfer.to_location_id)
    )
    scope_from, scope_to = scope_clause(actor, source.path), scope_clause(actor, destination.path)
    if scope_from is not None:
        stmt = stmt.where(sa.or_(scope_from, scope_to))
    if filters.get("status") is not None:
        stmt = stmt.where(Transfer.status == filters["status"])
    if filters.get("location_id") is not None:
        loc = filters["location_id"]
        stmt = stmt.where(sa.or_(Transfer.from_location_id == loc, Transfer.to_location_id == loc))
    return paginate(session, stmt, order_by=Transfer.id.desc(), page=page, size=size)


def receive_transfer(
    session: Session, actor: Actor, transfer_id: int, *, lines: list[dict] | None, now: datetime
) -> Transfer:
    """The destination confirms what arrived: without lines, everything; with lines, every line's
    received quantity (a shortfall is recorded on the line and goes back to nobody's stock)."""
    transfer = get_transfer(session, actor, transfer_id, for_update=True)
    if not _transfer_scope(actor, transfer)[1]:
        raise Forbidden("Only the destination's operators receive a transfer.")
    if lines is None:
        received = {line.id: line.quantity_sent for line in transfer.lines}
    else:
        received = _merge(lines, "line_id", "quantity_received")
        known = {line.id for line in transfer.lines}
        if set(received) != known:
            raise InvalidInput(
                "List every line of the transfer once.",
                fields={"lines": ["Every line, once."]},
                missing=sorted(known - set(received)),
                unknown=sorted(set(received) - known),
            )
    receive_into(session, transfer, received, now=now, actor_id=actor.user_id)
    return transfer


def receive_into(
    session: Session,
    transfer: Transfer,
    received: dict[int, int],
    *,
    now: datetime,
    actor_id: int | None = None,
    counter_event_id: int | None = None,
) -> None:
    """Receive a transfer (locked by the caller) with `received` units per line id."""
    too_many = [line.id for line in transfer.lines if received.get(line.id, 0) > line.quantity_sent]
    if too_many:
        raise InvalidInput(
            "More received than was sent; receive the extra as a delivery.",
            fields={"lines": ["Above the quantity sent."]},
            line_ids=too_many,
        )
    transfer.transition(TransferStatus.RECEIVED, at=now, actor_id=actor_id)
    transfer.received_by_counter_event_id = counter_event_id
    for line in transfer.lines:
        line.quantity_received = received.get(line.id, 0)
    session.flush()
    ledger.lock_levels(session, transfer.to_location_id, [line.sku_id for line in transfer.lines], create=True)
    moves = [
        Move(
            MovementKind.TRANSFER_IN, line.sku_id, line.batch_id, line.batch.best_before, on_hand=line.quantity_received
        )
        for line in sorted(transfer.lines, key=lambda line: line.batch_id)
        if line.quantity_received
    ]
    ledger.apply(
        session,
        transfer.to_location_id,
        moves,
        now=now,
        actor_id=actor_id,
        counter_event_id=counter_event_id,
        transfer_id=transfer.id,
    )


# --- reservations (for orders) ---------------------------------------------------------------------


def reserve_stock(
    session: Session, *, location_id: int, reference: str, lines: list[dict], now: datetime
) -> Reservation:
    """Set units aside at a location for an order, FEFO by batch, only of products in force.
    The reference (e.g. "order:123") makes it idempotent: the same reference and lines return the
    existing reservation; other lines under a used reference are refused."""
    wanted = _merge(lines, "sku_id")
    existing = session.scalar(sa.select(Reservation).where(Reservation.reference == reference))
    if existing is not None:
        return _same_reservation(session, existing, location_id, wanted)
    location = session.get(Location, location_id)
    if location is None:
        raise NotFound("No such location.")
    _require_active(location)
    reservation = Reservation(reference=reference, location_id=location_id, created_at=now)
    try:
        with session.begin_nested():
            session.add(reservation)
            session.flush()
    except IntegrityError:
        existing = session.scalar(sa.select(Reservation).where(Reservation.reference == reference))
        return _same_reservation(session, existing, location_id, wanted)
    ledger.lock_levels(session, location_id, wanted)
    _skus(session, list(wanted))
    _require_in_force(session, list(wanted), now)
    today = china_today(now)
    moves = [
        Move(MovementKind.RESERVE, sku_id, batch_id, best_before, reserved=units)
        for sku_id, quantity in sorted(wanted.items())
        for batch_id, best_before, units in ledger.pick_fefo(session, location_id, sku_id, quantity, today)
    ]
    ledger.apply(session, location_id, moves, now=now, reservation_id=reservation.id, reference=reference)
    return reservation


def _same_reservation(session: Session, reservation: Reservation, location_id: int, wanted: dict) -> Reservation:
    held = defaultdict(int)
    for move in reserved_lines(session, reservation):
        held[move.sku_id] += move.reserved
    if reservation.location_id != location_id or dict(held) != wanted:
        raise ReferenceReused("This reference is used by another reservation.", reference=reservation.reference)
    return reservation


def reserved_lines(session: Session, reservation: Reservation) -> list[Move]:
    """The batches and units a reservation holds: its reserve movements."""
    rows = session.execute(
        sa.select(Movement.sku_id, Movement.batch_id, Batch.best_before, sa.func.sum(Movement.reserved_delta))
        .join(Batch, Batch.id == Movement.batch_id)
        .where(Movement.reservation_id == reservation.id, Movement.kind == MovementKind.RESERVE)
        .group_by(Movement.sku_id, Movement.batch_id, Batch.best_before)
        .order_by(Movement.batch_id)
    ).all()
    return [Move(MovementKind.RESERVE, sku, batch, bb, reserved=units) for sku, batch, bb, units in rows]


def _close_reservation(session: Session, reference: str, target: ReservationStatus, now: datetime):
    reservation = session.scalar(
        sa.select(Reservation)
        .where(Reservation.reference == reference)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if reservation is None:
        raise NotFound("No such reservation.")
    reservation.transition(target, at=now)
    session.flush()
    held = reserved_lines(session, reservation)
    ledger.lock_levels(session, reservation.location_id, [m.sku_id for m in held])
    return reservation, held


def release_reservation(session: Session, *, reference: str, now: datetime) -> Reservation:
    """Give reserved units back to available stock (an order cancelled or expired)."""
    reservation, held = _close_reservation(session, reference, ReservationStatus.RELEASED, now)
    moves = [Move(MovementKind.RELEASE, m.sku_id, m.batch_id, m.best_before, reserved=-m.reserved) for m in held]
    ledger.apply(session, reservation.location_id, moves, now=now, reservation_id=reservation.id, reference=reference)
    return reservation


def commit_reservation(session: Session, *, reference: str, now: datetime) -> Reservation:
    """The reserved units are sold (picked up or shipped): they leave on hand and reserved together.
    Refused if a reserved batch has expired meanwhile."""
    reservation, held = _close_reservation(session, reference, ReservationStatus.COMMITTED, now)
    today = china_today(now)
    expired = sorted({m.batch_id for m in held if m.best_before < today})
    if expired:
        raise ReservedBatchExpired("A reserved batch has expired.", batch_ids=expired)
    moves = [
        Move(MovementKind.SALE, m.sku_id, m.batch_id, m.best_before, on_hand=-m.reserved, reserved=-m.reserved)
        for m in held
    ]
    ledger.apply(session, reservation.location_id, moves, now=now, reservation_id=reservation.id, reference=reference)
    return reservation


def return_reserved(session: Session, *, reference: str, lines: dict[int, int], now: datetime, reason: str) -> None:
    """Units a committed reservation sold come back to its location (a refund), into the batches they
    left, latest best-before first; never more units of a SKU than the reservation took."""
    reservation = session.scalar(sa.select(Reservation).where(Reservation.reference == reference))
    if reservation is None or reservation.status != ReservationStatus.COMMITTED:
        raise ReservationNotSold("Only sold units can come back.", reference=reference)
    ledger.lock_levels(session, reservation.location_id, sorted(lines))
    returned = dict(
        session.execute(
            sa.select(Movement.batch_id, sa.func.sum(Movement.on_hand_delta))
            .where(Movement.reservation_id == reservation.id, Movement.kind == MovementKind.RETURN)
            .group_by(Movement.batch_id)
        ).all()
    )
    moves = []
    for sku_id, quantity in sorted(lines.items()):
        left = quantity
        taken = [m for m in reserved_lines(session, reservation) if m.sku_id == sku_id]
        for move in sorted(taken, key=lambda m: (m.best_before, m.batch_id), reverse=True):
            room = move.reserved - returned.get(move.batch_id, 0)
            units = min(room, left)
            if units > 0:
                moves.append(Move(MovementKind.RETURN, sku_id, move.batch_id, move.best_before, on_hand=units))
                left -= units
        if left:
            raise ReturnExceedsSale("More units than the reservation sold.", sku_id=sku_id)
    ledger.apply(
        session,
        reservation.location_id,
        moves,
        now=now,
        reservation_id=reservation.id,
        reference=reference,
        reason=reason,
    )


# --- low stock -------------------------------------------------------------------------------------


def low_stock(
    session: Session,
    actor: Actor,
    *,
    location_id: int | None,
    now: datetime,
    window_days: int,
    cover_days: int,
    page: int,
    size: int,
):
    """SKUs at or below their threshold at the locations the actor runs, with a restock suggestion:
    enough for `cover_days` at the sales velocity of the last `window_days`, plus the threshold,
    less what is sellable and what is in transit towards the location."""
    require_operator(actor)
    if location_id is not None:
        get_location(session, actor, location_id)
    today = china_today(now)
    since = now - timedelta(days=window_days)
    sold = (
        sa.select(sa.func.coalesce(-sa.func.sum(Movement.on_hand_delta), 0))
        .where(
            Movement.location_id == StockLevel.location_id,
            Movement.sku_id == StockLevel.sku_id,
            Movement.kind == MovementKind.SALE,
            Movement.created_at >= since,
        )
        .scalar_subquery()
        .label("sold")
    )
    inbound = (
        sa.select(sa.func.coalesce(sa.func.sum(TransferLine.quantity_sent), 0))
        .join(Transfer, Transfer.id == TransferLine.transfer_id)
        .where(
            Transfer.to_location_id == StockLevel.location_id,
            Transfer.status == TransferStatus.IN_TRANSIT,
            TransferLine.sku_id == StockLevel.sku_id,
        )
        .scalar_subquery()
        .label("inbound")
    )
    stmt = (
        _stock_select(today)
        .add_columns(sold, inbound, Location)
        .join(Location, Location.id == StockLevel.location_id)
        .where(_low(today), Location.is_active)
    )
    scope = scope_clause(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    if location_id is not None:
        stmt = stmt.where(StockLevel.location_id == location_id)
    rows, total = _rows_page(session, stmt, order_by=[StockLevel.location_id, StockLevel.sku_id], page=page, size=size)
    items = []
    for level, sku, product_name, sellable, expired, sold_units, inbound_units, location in rows:
        row = _stock_row(level, sku, product_name, sellable, expired)
        velocity = sold_units / window_days
        target = level.low_stock_threshold + math.ceil(velocity * cover_days)
        row.update(
            location=location,
            sold_in_window=sold_units,
            window_days=window_days,
            daily_velocity=round(velocity, 2),
            in_transit=inbound_units,
            cover_days=cover_days,
            suggested_restock=max(target - sellable - inbound_units, 0),
        )
        items.append(row)
    return items, total


# --- public: availability and trace ----------------------------------------------------------------


def product_availability(
    session: Session, product_id: int, *, district_id: int | None, now: datetime, page: int, size: int
):
    """Where a product in force can be picked up now: active halls, counters and zones with units of
    its active SKUs available in unexpired batches."""
    product = session.scalar(sa.select(Product).where(Product.id == product_id, product_in_force(Product.id, now)))
    if product is None:
        raise NotFound("No such product, or it is not certified now.")
    today = china_today(now)
    b = BATCH_LEVELS
    stocked = (
        sa.select(b.c.location_id, b.c.sku_id, sa.func.sum(b.c.on_hand - b.c.reserved).label("available"))
        .join(Sku, Sku.id == b.c.sku_id)
        .where(
            Sku.product_id == product_id,
            Sku.is_active,
            b.c.best_before >= today,
            b.c.on_hand > b.c.reserved,
            not_frozen(b.c.batch_id),
        )
        .group_by(b.c.location_id, b.c.sku_id)
    )
    holding = sa.select(stocked.subquery().c.location_id)
    stmt = (
        sa.select(Location)
        .options(joinedload(Location.district))
        .where(Location.id.in_(holding), Location.is_active, Location.kind != LocationKind.CENTRE)
    )
    if district_id is not None:
        stmt = stmt.where(Location.district_id == district_id)
    locations, total = paginate(session, stmt, order_by=[Location.district_id, Location.id], page=page, size=size)
    per_location: dict[int, list] = defaultdict(list)
    if locations:
        rows = session.execute(
            stocked.add_columns(Sku)
            .where(b.c.location_id.in_([loc.id for loc in locations]))
            .group_by(Sku.id)
            .order_by(b.c.location_id, b.c.sku_id)
        ).all()
        for location_id, _sku_id, available, sku in rows:
            per_location[location_id].append({"sku": sku, "available": available})
    return [
        {"location": loc, "open_now": is_open(loc.opening_hours, now), "skus": per_location[loc.id]}
        for loc in locations
    ], total


def trace_batch(session: Session, trace_code: str, now: datetime) -> dict:
    """What a buyer learns from the trace code on a package: producer, origin, dates, certification."""
    batch = session.scalar(
        sa.select(Batch)
        .options(
            joinedload(Batch.sku).joinedload(Sku.product).joinedload(Product.supplier),
            joinedload(Batch.sku).joinedload(Sku.product).joinedload(Product.origin_district),
            joinedload(Batch.sku).joinedload(Sku.product).joinedload(Product.origin_township),
            joinedload(Batch.sku).joinedload(Sku.product).selectinload(Product.labels),
        )
        .where(Batch.trace_code == trace_code)
    )
    if batch is None:
        raise NotFound("No batch has this trace code.")
    product = batch.sku.product
    cert = current_certifications(session, [product.id], now).get(product.id)
    if cert is None:  # not in force now: the latest one ever announced, so the buyer sees why
        cert = session.scalar(
            sa.select(Certification)
            .where(Certification.product_id == product.id, Certification.valid_from.is_not(None))
            .order_by(Certification.valid_until.desc(), Certification.id.desc())
            .limit(1)
        )
    return {
        "trace_code": batch.trace_code,
        "produced_on": batch.produced_on,
        "best_before": batch.best_before,
        "expired": batch.expired(now),
        "sku": batch.sku,
        "product": product,
        "producer": product.supplier,
        "origin_district": product.origin_district,
        "origin_township": product.origin_township,
        "labels": product.labels,
        "frozen": batch.frozen_at is not None,
        "inspections": inspections_of_batch(session, batch),
        "certification": None
        if cert is None
        else {
            "certificate_no": cert.certificate_no,
            "valid_from": cert.valid_from,
            "valid_until": cert.valid_until,
            "status": cert.effective_status(now),
            "in_force": cert.effective_status(now) == "in_force",
        },
    }
