"""The slices' settings and the payment gateways, built once from the configuration by create_app and
kept in `app.extensions`; views and commands read them from there (`current()`), services get them as
arguments. A test that changes the configuration of a built app calls `install(app)` again."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from payments.registry import Payments
from payments.service import PaymentSettings
from payments.stripe_gateway import StripeSettings
from shop import wechat
from shop.catalog.cache import LocalCache, RedisCache, make_cache
from shop.monitoring.risk import RiskRules
from shop.notifications import delivery as notifications
from shop.orders import service as orders
from shop.procurement import bulk_orders, voucher_gateway
from shop.promotions.quoting import PointsSettings
from shop.supervision import after_sales, complaints, prices


@dataclass(frozen=True)
class SupervisionSettings:
    after_sales: after_sales.AfterSalesSettings  # with the complaints' deadlines
    price_rules: prices.PriceRules


@dataclass(frozen=True)
class CertificationSettings:
    objection_days: int  # the default of an announcement that names none
    validity_days: int


@dataclass(frozen=True)
class InventorySettings:
    velocity_window_days: int  # defaults of the low-stock view
    restock_cover_days: int
    heartbeat_timeout_seconds: int


@dataclass(frozen=True)
class CatalogSettings:
    cache: LocalCache | RedisCache  # rendered pages and details, keyed by the catalog version
    count_bound: int  # matches counted exactly up to this many


@dataclass(frozen=True)
class Settings:
    points: PointsSettings
    orders: orders.OrderSettings
    procurement: bulk_orders.ProcurementSettings
    payments: Payments
    supervision: SupervisionSettings
    certification: CertificationSettings
    inventory: InventorySettings
    points_expire_days: int  # 0: never
    wechat: wechat.WeChatClient | None  # the mini-program: log-in and subscribe messages (None: off)
    wechat_retry_after: int  # seconds a 503 from WeChat tells the client to wait
    notifications: notifications.DeliverySettings
    risk: RiskRules
    cold_chain_excursion_minutes: int
    catalog: CatalogSettings
    statistics_max_groups: int  # groups a sales query answers at most

    @property
    def voucher_secret(self) -> str:
        return self.procurement.voucher_secret


def build(cfg) -> Settings:
    """Every setting the slices take, and the payments registry with every gateway and payable."""
    points = PointsSettings(point_value_fen=cfg["POINTS_VALUE_FEN"], max_share_bp=cfg["POINTS_MAX_SHARE_BP"])
    registry = Payments(
        PaymentSettings(point_value_fen=cfg["POINTS_VALUE_FEN"], stripe=StripeSettings.from_config(cfg))
    )
    procurement = bulk_orders.ProcurementSettings(voucher_secret=cfg["VOUCHER_CODE_SECRET"], payments=registry)
    mini_program = wechat.client_from(cfg)
    orders.register_payments(registry)
    voucher_gateway.register_payments(registry, procurement)
    return Settings(
        points=points,
        orders=orders.OrderSettings(
            payment_minutes=cfg["ORDER_PAYMENT_MINUTES"],
            points=points,
            earn_per_yuan=cfg["POINTS_EARN_PER_YUAN"],
            earn_per_yuan_deep_poverty=cfg["POINTS_EARN_PER_YUAN_DEEP_POVERTY"],
            payments=registry,
            pickup_max_attempts=cfg["PICKUP_MAX_ATTEMPTS"],
        ),
        procurement=procurement,
        payments=registry,
        supervision=SupervisionSettings(
            after_sales=after_sales.AfterSalesSettings(
                window_days=cfg["AFTER_SALES_WINDOW_DAYS"],
                fresh_window_hours=cfg["AFTER_SALES_FRESH_WINDOW_HOURS"],
                fresh_category_slugs=tuple(cfg["AFTER_SALES_FRESH_CATEGORIES"]),
                answer_hours=cfg["AFTER_SALES_ANSWER_HOURS"],
                complaints=complaints.ComplaintSettings(
                    accept_hours=cfg["COMPLAINT_ACCEPT_HOURS"],
                    supplier_hours=cfg["COMPLAINT_SUPPLIER_HOURS"],
                    decide_hours=cfg["COMPLAINT_DECIDE_HOURS"],
                    close_hours=cfg["COMPLAINT_CLOSE_HOURS"],
                ),
            ),
            price_rules=prices.PriceRules(
                above_reference_bp=cfg["PRICE_ABOVE_REFERENCE_BP"],
                rise_bp=cfg["PRICE_RISE_BP"],
                rise_days=cfg["PRICE_RISE_DAYS"],
            ),
        ),
        certification=CertificationSettings(
            objection_days=cfg["CERTIFICATION_OBJECTION_DAYS"], validity_days=cfg["CERTIFICATION_VALIDITY_DAYS"]
        ),
        inventory=InventorySettings(
            velocity_window_days=cfg["INVENTORY_VELOCITY_WINDOW_DAYS"],
            restock_cover_days=cfg["INVENTORY_RESTOCK_COVER_DAYS"],
            heartbeat_timeout_seconds=cfg["INVENTORY_HEARTBEAT_TIMEOUT_SECONDS"],
        ),
        points_expire_days=cfg["POINTS_EXPIRE_DAYS"],
        wechat=mini_program,
        wechat_retry_after=cfg["WECHAT_RETRY_AFTER_SECONDS"],
        notifications=notifications.settings_from(cfg, mini_program),
        risk=RiskRules.from_config(cfg),
        cold_chain_excursion_minutes=cfg["COLD_CHAIN_EXCURSION_MINUTES"],
        catalog=CatalogSettings(
            cache=make_cache(cfg["CATALOG_CACHE_URL"], cfg["CATALOG_CACHE_ENTRIES"]),
            count_bound=cfg["CATALOG_COUNT_BOUND"],
        ),
        statistics_max_groups=cfg["STATISTICS_MAX_GROUPS"],
    )


def install(app: Flask) -> Settings:
    settings = build(app.config)
    app.extensions.setdefault("shop", {})["settings"] = settings
    app.extensions["payments"] = settings.payments
    return settings


def current() -> Settings:
    """The settings of the application handling this request or command."""
    return current_app.extensions["shop"]["settings"]
