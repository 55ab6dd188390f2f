"""The assistance-products marketplace: create_app() builds the Flask application."""

from __future__ import annotations

from flask import Flask

import search
from shop import config as config_module
from shop import cors, extensions, http_cache, jobs, observability, request_session, web_pages
from shop import settings as settings_module
from shop.auth import guard, passwords
from shop.db import make_engine
from shop.notifications import events as notification_events
from shop.sessions import make_sessionmaker
from shop.web import (
    DOCS_ASSETS_URL,
    IdConverter,
    ShopApi,
    id_converter_schema,
    register_error_handlers,
    register_request_rules,
    serve_docs_assets,
)

API_TITLE = "Assistance products marketplace"
API_VERSION = "v1"


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(config_module.from_env())
    app.config.update(config or {})
    app.config.update(config_module.resolve_secrets(app.config))
    app.config.update(
        API_TITLE=API_TITLE,
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS_URL,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False

    engine = app.config.get("ENGINE") or make_engine(app.config["DATABASE_URL"], echo=app.config["SQL_ECHO"])
    app.extensions["shop"] = {"engine": engine, "sessionmaker": make_sessionmaker(engine)}
    # the slices' settings and the payment gateways (voucher: procurement's), once: a wrong
    # STRIPE_PAYMENT_METHOD_TYPES fails here, not per request
    settings_module.install(app)
    passwords.configure(app.config["PASSWORD_HASH_TIME_COST"], app.config["PASSWORD_HASH_MEMORY_KIB"])

    observability.init_app(app)
    request_session.init_app(app)
    jobs.init_app(app)
    search.init_app(app)
    guard.init_app(app)
    extensions.init_app(app)
    http_cache.init_app(app)
    cors.init_app(app)
    app.url_map.converters["int"] = IdConverter
    api = ShopApi(app)
    api.register_converter(IdConverter, id_converter_schema)
    register_error_handlers(app)
    register_request_rules(app, rate_limit=extensions.check_rate_limit)
    serve_docs_assets(app)
    http_cache.document(api, app)
    _register_blueprints(api)
    notification_events.install()
    web_pages.init_app(app)
    _register_cli(app)
    return app


def _register_blueprints(api: ShopApi) -> None:
    from payments.api import blp as payments_blp
    from search.api import blp as search_blp
    from shop.addresses.api import blp as addresses_blp
    from shop.auth.api import blp as auth_blp
    from shop.bookings.api import blp as bookings_blp
    from shop.catalog.api import blp as catalog_blp
    from shop.certification.api import blp as certification_blp
    from shop.health import blp as health_blp
    from shop.inventory import counter_api
    from shop.inventory.api import blp as inventory_blp
    from shop.inventory.api import public_blp as availability_blp
    from shop.monitoring.api import blp as monitoring_blp
    from shop.notifications.api import blp as notifications_blp
    from shop.orders.api import blp as orders_blp
    from shop.points.api import blp as points_blp
    from shop.procurement.api import blp as procurement_blp
    from shop.promotions.api import blp as promotions_blp
    from shop.reference.api import blp as reference_blp
    from shop.statistics.api import blp as statistics_blp
    from shop.supervision.api import blp as supervision_blp
    from shop.suppliers.api import blp as suppliers_blp

    for blp in (
        health_blp,
        auth_blp,
        reference_blp,
        suppliers_blp,
        catalog_blp,
        certification_blp,
        promotions_blp,
        points_blp,
        inventory_blp,
        availability_blp,
        addresses_blp,
        orders_blp,
        search_blp,
        procurement_blp,
        payments_blp,
        supervision_blp,
        statistics_blp,
        notifications_blp,
        bookings_blp,
        monitoring_blp,
    ):
        api.register_blueprint(blp)
    counter_api.register(api)


def _register_cli(app: Flask) -> None:
    from search.cli import search_cli
    from shop.cli import db_cli, demo_cli, openapi_cli, orders_cli, payments_cli, points_cli
    from shop.i18n.cli import i18n_cli
    from shop.inventory.cli import inventory_cli
    from shop.jobs.cli import jobs_cli
    from shop.procurement.cli import procurement_cli
    from shop.statistics.cli import statistics_cli

    app.cli.add_command(db_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(openapi_cli)
    app.cli.add_command(points_cli)
    app.cli.add_command(inventory_cli)
    app.cli.add_command(orders_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(procurement_cli)
    app.cli.add_command(payments_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(statistics_cli)
    app.cli.add_command(i18n_cli)
