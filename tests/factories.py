"""Rows for tests, made through the same services the API uses, plus tokens for their users."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask_jwt_extended import create_access_token
from sqlalchemy.orm import Session

from shop import clock
from shop.auth import service as auth_service
from shop.auth.actor import Actor
from shop.auth.models import Role, User
from shop.catalog import service as catalog
from shop.catalog.models import BrandTier, Category, Product
from shop.certification import service as certification
from shop.certification.models import Certification
from shop.inventory import devices, locations, movements
from shop.inventory.models import Location, LocationKind, StockLevel, china_today
from shop.supervision import service as supervision
from shop.supervision.gates import is_eligible
from shop.suppliers import service as suppliers
from shop.suppliers.models import Supplier
from shop.suppliers.uscc import check_character

FENGJIE, WUSHAN, YUZHONG = 500236, 500237, 500103
ANPING = 10  # a township of Fengjie, not deep-poverty
PINGAN = 9  # a deep-poverty township of Fengjie

_seq = itertools.count(1)


def valid_uscc(district_id: int = FENGJIE) -> str:
    first17 = f"91{district_id}MA{next(_seq):07d}"
    return first17 + check_character(first17)


class Factory:
    def __init__(self, app, session: Session):
        self.app = app
        self.session = session
        self._admin: Actor | None = None

    # --- people ---------------------------------------------------------------------------
    def user(self, *roles: tuple[Role, int] | Role, login: str | None = None, password: str = "secret-pass-1") -> User:
        n = next(_seq)
        user = auth_service.register_user(
            self.session, login=login or f"user{n}@test.cq", password=password, display_name=f"User {n}"
        )
        for role in roles:
            role, scope = role if isinstance(role, tuple) else (role, 0)
            auth_service.add_grant(self.session, user, role, scope, granted_by_id=None)
        self.session.flush()
        return user

    def headers(self, user: User) -> dict[str, str]:
        with self.app.app_context():
            token = create_access_token(identity=str(user.id))
        return {"Authorization": f"Bearer {token}"}

    def actor(self, user: User) -> Actor:
        return auth_service.load_actor(self.session, user.id)

    @property
    def admin(self) -> Actor:
        if self._admin is None:
            self._admin = self.actor(self.user(Role.ADMIN))
        return self._admin

    def regulator(self) -> Actor:
        return self.actor(self.user(Role.REGULATOR))

    # --- suppliers and catalog ------------------------------------------------------------
    def supplier(self, district_id: int = FENGJIE, name: str | None = None) -> Supplier:
        return suppliers.create_supplier(
            self.session,
            self.admin,
            data={
                "name": name or f"Supplier {next(_seq)}",
                "uscc": valid_uscc(district_id),
                "district_id": district_id,
                "contact_name": "Contact",
                "contact_phone": "13800000000",
            },
        )

    def category(self, name: str | None = None, parent: Category | None = None) -> Category:
        n = next(_seq)
        return catalog.create_category(
            self.session,
            self.admin,
            name=name or f"Category {n}",
            slug=f"cat-{n}",
            parent_id=parent.id if parent else None,
        )

    def brand(self, tier: BrandTier = BrandTier.REGIONAL_PUBLIC, district_id: int | None = None):
        return catalog.create_brand(
            self.session, self.admin, name=f"Brand {next(_seq)}", tier=tier, district_id=district_id, supplier_id=None
        )

    def product(
        self,
        supplier: Supplier | None = None,
        *,
        category: Category | None = None,
        price_fen: int = 1000,
        name: str | None = None,
        township_id: int | None = None,
        **extra,
    ) -> Product:
        supplier = supplier or self.supplier()
        n = next(_seq)
        return catalog.create_product(
            self.session,
            self.admin,
            supplier_id=supplier.id,
            data={
                "name": name or f"Product {n}",
                "category_id": (category or self.category()).id,
                "origin_district_id": supplier.district_id,
                "origin_township_id": township_id,
                "skus": [{"code": f"SKU-{n}", "price_fen": price_fen, "unit": "box"}],
                **extra,
            },
        )

    # --- certification --------------------------------------------------------------------
    def application(self, product: Product, at: datetime | None = None) -> Certification:
        return certification.apply_for_certification(
            self.session,
            self.admin,
            now=at or clock.now(),
            data={
                "product_id": product.id,
                "production_base": "Base",
                "expected_yearly_output": 1000,
                "output_unit": "kg",
                "households_benefiting": 12,
            },
        )

    def make_eligible(self, district_id: int, *, since: datetime) -> None:
        """Outside the poverty-alleviated districts, make the whole district eligible by an act (as an
        admin would), so a test can certify a product of, say, 渝中."""
        if is_eligible(self.session, district_id, None, "", since):
            return
        supervision.add_eligible_place(
            self.session,
            self.admin,
            data={"district_id": district_id, "act": "Test act", "eligible_from": since - timedelta(days=365)},
            now=clock.now(),
        )

    def certifier(self, district_id: int) -> User:
        return self.user((Role.CERTIFIER, district_id))

    def certified(
        self,
        product: Product | None = None,
        *,
        published_at: datetime | None = None,
        objection_days: int = 7,
        validity_days: int = 365,
    ) -> Certification:
        """A certification approved and published at `published_at` (default: long enough ago
        that it is in force now)."""
        product = product or self.product()
        published_at = published_at or clock.now() - timedelta(days=objection_days + 1)
        self.make_eligible(product.origin_district_id, since=published_at - timedelta(days=1))
        cert = self.application(product, at=published_at - timedelta(hours=2))
        certifier = self.actor(self.certifier(product.origin_district_id))
        certification.approve_certification(self.session, certifier, cert.id, now=published_at - timedelta(hours=1))
        certification.publish_announcement(
            self.session,
            certifier,
            title="Announcement",
            certification_ids=[cert.id],
            objection_days=objection_days,
            validity_days=validity_days,
            now=published_at,
        )
        return cert

    # --- inventory ------------------------------------------------------------------------
    def centre(self) -> Location:
        existing = self.session.scalar(sa.select(Location).where(Location.kind == LocationKind.CENTRE))
        return existing or self.location(LocationKind.CENTRE, name="运营中心 Centre")

    def location(
        self, kind: LocationKind | str, parent: Location | None = None, *, district_id: int = YUZHONG, **extra
    ) -> Location:
        kind = LocationKind(kind)
        if parent is None and kind != LocationKind.CENTRE:
            parent = self.centre()
        return locations.create_location(
            self.session,
            self.admin,
            data={
                "kind": kind,
                "parent_id": parent.id if parent else None,
                "name": extra.pop("name", f"{kind.value.title()} {next(_seq)}"),
                "district_id": district_id,
                "address": extra.pop("address", "解放碑 1号"),
                **extra,
            },
        )

    def hall(self, **extra) -> Location:
        return self.location(LocationKind.HALL, **extra)

    def counter(self, hall: Location | None = None, **extra) -> Location:
        extra.setdefault("host_institution", "重庆医科大学附属第一医院")
        return self.location(LocationKind.COUNTER, hall or self.hall(), **extra)

    def operator(self, *locations: Location) -> User:
        return self.user(*[(Role.HALL_OPERATOR, location.id) for location in locations])

    def sku(self, *, certified: bool = True, **product_extra):
        """The SKU of a new product, certified (in force for the last fifty days) unless told otherwise."""
        product = self.product(**product_extra)
        if certified:
            self.certified(product, published_at=clock.now() - timedelta(days=60))
        return product.skus[0]

    def stock(
        self,
        location: Location,
        sku,
        quantity: int,
        *,
        best_before: date | None = None,
        produced_on: date | None = None,
        trace_code: str | None = None,
    ) -> str:
        """Receive a batch of `quantity` units of `sku` at `location`; returns its trace code."""
        today = china_today(clock.now())
        trace_code = trace_code or f"TC-{next(_seq):06d}"
        movements.receive_stock(
            self.session,
            self.admin,
            location.id,
            lines=[
                {
                    "sku_id": sku.id,
                    "trace_code": trace_code,
                    "produced_on": produced_on or today - timedelta(days=3),
                    "best_before": best_before or today + timedelta(days=30),
                    "quantity": quantity,
                }
            ],
            reference=None,
            now=clock.now(),
        )
        return trace_code

    def counter_key(self, counter: Location) -> str:
        return devices.issue_key(self.session, self.admin, counter.id, now=clock.now())["api_key"]


def level(session, location, sku) -> tuple[int, int]:
    """(on hand, reserved) of a SKU at a location, read fresh from the database."""
    row = session.execute(
        sa.select(StockLevel.on_hand, StockLevel.reserved)
        .where(StockLevel.location_id == location.id, StockLevel.sku_id == sku.id)
        .execution_options(populate_existing=True)
    ).one()
    return tuple(row)


def stamp(moment) -> str:
    """A moment as the API writes it: RFC 3339 in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
