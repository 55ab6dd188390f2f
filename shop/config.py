"""Settings from environment variables, with embedded defaults for a one-command start."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Settings that must never fall back to a value written anywhere public.
SECRET_SETTINGS = ("JWT_SECRET_KEY", "VOUCHER_CODE_SECRET")
SECRET_MIN_LENGTH = 32
SECRETS_FILE_NAME = "secrets.json"


class ConfigurationError(RuntimeError):
    """The server must not start with this configuration."""


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def default_database_url() -> str:
    return f"sqlite:///{ROOT / 'instance' / 'shop.db'}"


def from_env() -> dict:
    """The application's configuration as Flask reads it."""
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL") or default_database_url(),
        "SQL_ECHO": os.environ.get("SQL_ECHO") == "1",
        # development (default) or production: production refuses to start without its secrets.
        "SHOP_ENV": os.environ.get("SHOP_ENV", "development"),
        # Where a non-production instance keeps the secrets it generated for itself.
        "INSTANCE_DIR": os.environ.get("SHOP_INSTANCE_DIR") or str(ROOT / "instance"),
        "JWT_SECRET_KEY": os.environ.get("JWT_SECRET_KEY", ""),
        "JWT_ACCESS_TOKEN_EXPIRES_MINUTES": _int("JWT_ACCESS_TOKEN_EXPIRES_MINUTES", 30),
        "JWT_REFRESH_TOKEN_EXPIRES_DAYS": _int("JWT_REFRESH_TOKEN_EXPIRES_DAYS", 30),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "shop"),
        # Per client address; guessing codes and flooding sign-ups or the webhook end in 429.
        "REGISTER_RATE_LIMIT": os.environ.get("REGISTER_RATE_LIMIT", "10 per hour"),
        "PICKUP_RATE_LIMIT": os.environ.get("PICKUP_RATE_LIMIT", "30 per minute"),
        # anonymous reports (举报): no account, so per address and slow
        "REPORT_RATE_LIMIT": os.environ.get("REPORT_RATE_LIMIT", "5 per hour"),
        # Supervision: after-sales windows (fresh produce: hours, by category slug) and answer time;
        # complaint deadlines per state; price flags above the reference or after a sharp rise.
        "AFTER_SALES_WINDOW_DAYS": _int("AFTER_SALES_WINDOW_DAYS", 7),
        "AFTER_SALES_FRESH_WINDOW_HOURS": _int("AFTER_SALES_FRESH_WINDOW_HOURS", 48),
        "AFTER_SALES_FRESH_CATEGORIES": os.environ.get("AFTER_SALES_FRESH_CATEGORIES", "fresh-fruit,vegetables").split(
            ","
        ),
        "AFTER_SALES_ANSWER_HOURS": _int("AFTER_SALES_ANSWER_HOURS", 48),
        "COMPLAINT_ACCEPT_HOURS": _int("COMPLAINT_ACCEPT_HOURS", 72),
        "COMPLAINT_SUPPLIER_HOURS": _int("COMPLAINT_SUPPLIER_HOURS", 120),
        "COMPLAINT_DECIDE_HOURS": _int("COMPLAINT_DECIDE_HOURS", 15 * 24),
        "COMPLAINT_CLOSE_HOURS": _int("COMPLAINT_CLOSE_HOURS", 7 * 24),
        "PRICE_ABOVE_REFERENCE_BP": _int("PRICE_ABOVE_REFERENCE_BP", 3000),
        "PRICE_RISE_BP": _int("PRICE_RISE_BP", 2000),
        "PRICE_RISE_DAYS": _int("PRICE_RISE_DAYS", 7),
        "VOUCHER_RATE_LIMIT": os.environ.get("VOUCHER_RATE_LIMIT", "30 per minute"),
        "WEBHOOK_RATE_LIMIT": os.environ.get("WEBHOOK_RATE_LIMIT", "600 per minute"),
        # Wrong pick-up codes before the order's code is locked (the buyer then asks for a new one).
        "PICKUP_MAX_ATTEMPTS": _int("PICKUP_MAX_ATTEMPTS", 5),
        # argon2 cost; tests lower it, production keeps the library's defaults.
        "PASSWORD_HASH_TIME_COST": _int("PASSWORD_HASH_TIME_COST", 3),
        "PASSWORD_HASH_MEMORY_KIB": _int("PASSWORD_HASH_MEMORY_KIB", 65536),
        "CERTIFICATION_OBJECTION_DAYS": _int("CERTIFICATION_OBJECTION_DAYS", 7),
        "CERTIFICATION_VALIDITY_DAYS": _int("CERTIFICATION_VALIDITY_DAYS", 365 * 3),
        "ORDER_PAYMENT_MINUTES": _int("ORDER_PAYMENT_MINUTES", 30),
        "POINTS_VALUE_FEN": _int("POINTS_VALUE_FEN", 1),
        "POINTS_MAX_SHARE_BP": _int("POINTS_MAX_SHARE_BP", 5000),
        "POINTS_EXPIRE_DAYS": _int("POINTS_EXPIRE_DAYS", 730),  # 0: points never expire
        "POINTS_EARN_PER_YUAN": _int("POINTS_EARN_PER_YUAN", 1),
        "POINTS_EARN_PER_YUAN_DEEP_POVERTY": _int("POINTS_EARN_PER_YUAN_DEEP_POVERTY", 2),
        # Browser front ends: origins allowed to call the API (comma-separated; `^...` is a regular
        # expression; none by default, local origins under `make run`), and how long a preflight is cached.
        "CORS_ORIGINS": os.environ.get("CORS_ORIGINS", ""),
        "CORS_MAX_AGE": _int("CORS_MAX_AGE", 7200),
        # max-age of public answers (catalog, districts, ...): 0, revalidate each time with If-None-Match
        "HTTP_CACHE_MAX_AGE": _int("HTTP_CACHE_MAX_AGE", 0),
        # The public catalog's cache of pages and details, keyed by the catalog version: empty for a
        # bounded dict in each process; redis://host:6379/5 to share one between workers.
        "CATALOG_CACHE_URL": os.environ.get("CATALOG_CACHE_URL", ""),
        "CATALOG_CACHE_ENTRIES": _int("CATALOG_CACHE_ENTRIES", 2048),
        # Matches counted exactly up to this many; beyond, a page says total_is_estimate.
        "CATALOG_COUNT_BOUND": _int("CATALOG_COUNT_BOUND", 1000),
        # A statistics query answers at most this many groups (more: 422 too_many_groups).
        "STATISTICS_MAX_GROUPS": _int("STATISTICS_MAX_GROUPS", 10_000),
        "PAGE_SIZE_DEFAULT": _int("PAGE_SIZE_DEFAULT", 20),
        "PAGE_SIZE_MAX": _int("PAGE_SIZE_MAX", 100),
        # A smart counter silent for longer than this is listed as stale.
        "INVENTORY_HEARTBEAT_TIMEOUT_SECONDS": _int("INVENTORY_HEARTBEAT_TIMEOUT_SECONDS", 600),
        # Low-stock suggestions: sales velocity over this many days, restock to cover that many.
        "INVENTORY_VELOCITY_WINDOW_DAYS": _int("INVENTORY_VELOCITY_WINDOW_DAYS", 28),
        "INVENTORY_RESTOCK_COVER_DAYS": _int("INVENTORY_RESTOCK_COVER_DAYS", 14),
        # Stripe: card, Alipay and WeChat Pay. Without a secret key the gateway is switched off.
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        # Empty: Stripe's own API. Tests point it at a Stripe-compatible server on a loopback port.
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", ""),
        "STRIPE_PAYMENT_METHOD_TYPES": os.environ.get("STRIPE_PAYMENT_METHOD_TYPES", "card,alipay,wechat_pay"),
        "STRIPE_WEBHOOK_TOLERANCE_SECONDS": _int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300),
        "STRIPE_TIMEOUT_SECONDS": _float("STRIPE_TIMEOUT_SECONDS", 10.0),
        # Network retries of one call (each with the call's own idempotency key, so never a double).
        "STRIPE_MAX_NETWORK_RETRIES": _int("STRIPE_MAX_NETWORK_RETRIES", 2),
        # `flask payments reconcile` asks Stripe about attempts still pending after this long.
        "PAYMENTS_RECONCILE_AFTER_MINUTES": _int("PAYMENTS_RECONCILE_AFTER_MINUTES", 10),
        # Pickup-voucher codes are derived from this secret: keep it out of the database and its backups.
        "VOUCHER_CODE_SECRET": os.environ.get("VOUCHER_CODE_SECRET", ""),
        # The national monitoring hub that sales facts are fed to (off when the URL is empty).
        "STATISTICS_HUB_URL": os.environ.get("STATISTICS_HUB_URL", ""),
        "STATISTICS_HUB_SECRET": os.environ.get("STATISTICS_HUB_SECRET", ""),
        "STATISTICS_HUB_TIMEOUT": float(os.environ.get("STATISTICS_HUB_TIMEOUT", "10")),
        **wechat_settings(),
        **notification_settings(),
        **monitoring_settings(),
        **search_settings(),
        **operations_settings(),
    }


def monitoring_settings() -> dict:
    """Unsold-produce risk: sales velocity over a window, stock near its best-before, and the share of
    what is exposed (unsold at origin plus ageing stock) expected to go unsold that makes each level.
    Cold chain: how long a counter may stay out of its stock's range before batches are quarantined."""
    return {
        "MONITORING_VELOCITY_DAYS": _int("MONITORING_VELOCITY_DAYS", 28),
        "MONITORING_AGEING_DAYS": _int("MONITORING_AGEING_DAYS", 7),
        "MONITORING_WATCH_BP": _int("MONITORING_WATCH_BP", 1000),
        "MONITORING_WARNING_BP": _int("MONITORING_WARNING_BP", 3000),
        "MONITORING_CRITICAL_BP": _int("MONITORING_CRITICAL_BP", 6000),
        "COLD_CHAIN_EXCURSION_MINUTES": _int("COLD_CHAIN_EXCURSION_MINUTES", 30),
    }


def resolve_secrets(config: dict) -> dict:
    """The secrets the app runs with. Production must be given each one (at least
    SECRET_MIN_LENGTH characters). Elsewhere a missing one is generated once per instance and kept in
    INSTANCE_DIR/secrets.json (mode 0600), so tokens and voucher codes survive a restart."""
    env = config.get("SHOP_ENV", "development")
    if env not in ("development", "production"):
        raise ConfigurationError(f"SHOP_ENV must be 'development' or 'production', not {env!r}.")
    missing = [name for name in SECRET_SETTINGS if not config.get(name)]
    if env == "production":
        if missing:
            raise ConfigurationError(
                f"SHOP_ENV=production needs {' and '.join(missing)} set in the environment; refusing to start."
            )
        short = [name for name in SECRET_SETTINGS if len(config[name]) < SECRET_MIN_LENGTH]
        if short:
            raise ConfigurationError(
                f"{' and '.join(short)} must be at least {SECRET_MIN_LENGTH} characters in production."
            )
        return {}
    if not missing:
        return {}
    stored = instance_secrets(Path(config.get("INSTANCE_DIR") or ROOT / "instance"))
    return {name: stored[name] for name in missing}


def instance_secrets(directory: Path) -> dict:
    """This instance's generated secrets: read from the file, or created in it on first start.
    Several workers may start at once: the file appears complete (written aside, then linked) or not at all."""
    path = directory / SECRETS_FILE_NAME
    stored = _read_secrets(path)
    if stored is not None and all(stored.get(name) for name in SECRET_SETTINGS):
        return stored
    directory.mkdir(parents=True, exist_ok=True)
    fresh = {name: (stored or {}).get(name) or secrets.token_urlsafe(48) for name in SECRET_SETTINGS}
    scratch = directory / f".{SECRETS_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(fresh, handle)
        if stored is None:
            try:
                os.link(scratch, path)
            except FileExistsError:  # another worker was first: use its secrets
                return _read_secrets(path) or fresh
        else:
            os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)
    return fresh


def _read_secrets(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def search_settings() -> dict:
    """Search: the engine when ELASTICSEARCH_URL is set, else the embedded backend in the database."""
    url = os.environ.get("ELASTICSEARCH_URL", "")
    return {
        "ELASTICSEARCH_URL": url,
        "SEARCH_BACKEND": os.environ.get("SEARCH_BACKEND") or ("elasticsearch" if url else "embedded"),
        "SEARCH_ENGINE_FLAVOR": os.environ.get("SEARCH_ENGINE_FLAVOR", "elasticsearch"),
        "SEARCH_INDEX_ALIAS": os.environ.get("SEARCH_INDEX_ALIAS", "products"),
        "SEARCH_ANALYZER": os.environ.get("SEARCH_ANALYZER", "cjk_bigram"),
        "SEARCH_ENGINE_TIMEOUT": _float("SEARCH_ENGINE_TIMEOUT", 2.0),
        "SEARCH_ENGINE_RETRIES": _int("SEARCH_ENGINE_RETRIES", 1),
        # After the engine fails, answer from the database for this long before trying it again.
        "SEARCH_ENGINE_RETRY_SECONDS": _float("SEARCH_ENGINE_RETRY_SECONDS", 5.0),
        "SEARCH_ENGINE_REFRESH": os.environ.get("SEARCH_ENGINE_REFRESH") == "1",
        "SEARCH_BOOST_POVERTY_ALLEVIATED": _float("SEARCH_BOOST_POVERTY_ALLEVIATED", 1.5),
        "SEARCH_BOOST_DEEP_POVERTY": _float("SEARCH_BOOST_DEEP_POVERTY", 2.0),
        # products of a running absorption campaign, or at warning or critical risk of going unsold
        "SEARCH_BOOST_AT_RISK_UNSOLD": _float("SEARCH_BOOST_AT_RISK_UNSOLD", 3.0),
        # worker: a commit that wrote to the outbox enqueues the sync job for the worker;
        # thread: a background thread drains the outbox after each commit that wrote to it;
        # inline: the request drains one batch before it ends; off: only `flask search sync`.
        "SEARCH_DRAIN_AFTER_COMMIT": os.environ.get("SEARCH_DRAIN_AFTER_COMMIT", "worker"),
        "SEARCH_SYNC_BATCH": _int("SEARCH_SYNC_BATCH", 500),
        "SEARCH_SYNC_BACKOFF_MAX_SECONDS": _int("SEARCH_SYNC_BACKOFF_MAX_SECONDS", 300),
        "SEARCH_MAX_RESULT_WINDOW": _int("SEARCH_MAX_RESULT_WINDOW", 10_000),
        "SEARCH_FACET_SCAN_LIMIT": _int("SEARCH_FACET_SCAN_LIMIT", 2_000),
        # the embedded backend counts facets over at most this many of a text's matches (see its _search_text)
        "SEARCH_TEXT_CANDIDATES": _int("SEARCH_TEXT_CANDIDATES", 2_000),
    }


def operations_settings() -> dict:
    """The worker, metrics and logs."""
    return {
        # Redis (redis://host:6379/0) or RabbitMQ (amqp://user:pass@host//) in production; the
        # default is a folder of files under instance/, for `make run` with nothing installed.
        "JOBS_BROKER_URL": os.environ.get("JOBS_BROKER_URL", "filesystem://localhost/"),
        "JOBS_QUEUE_FOLDER": os.environ.get("JOBS_QUEUE_FOLDER", str(ROOT / "instance" / "queue")),
        "JOBS_QUEUE": os.environ.get("JOBS_QUEUE", "shop"),
        # Redis only: a job not acknowledged within this long is handed to another worker.
        "JOBS_VISIBILITY_TIMEOUT": _int("JOBS_VISIBILITY_TIMEOUT", 3600),
        "JOBS_MAX_RETRIES": _int("JOBS_MAX_RETRIES", 5),
        "JOBS_RETRY_BACKOFF_SECONDS": _float("JOBS_RETRY_BACKOFF_SECONDS", 5.0),
        "JOBS_RETRY_BACKOFF_MAX_SECONDS": _float("JOBS_RETRY_BACKOFF_MAX_SECONDS", 600.0),
        # A periodic job's lease: another worker may take it over after this long without renewal.
        "JOBS_LEASE_SECONDS": _int("JOBS_LEASE_SECONDS", 600),
        # Periods in seconds overriding the registry's, e.g. "orders.expire=30,search.sync=10".
        "JOBS_SCHEDULE": os.environ.get("JOBS_SCHEDULE", ""),
        # Modules whose import registers more jobs, comma-separated.
        "JOBS_MODULES": os.environ.get("JOBS_MODULES", ""),
        # /metrics answers only to these networks, or to a request bearing METRICS_TOKEN.
        "METRICS_ALLOWED_NETWORKS": os.environ.get("METRICS_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128"),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        # json: one JSON object a line (production); text: for a person at a terminal.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "json"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
    }


def wechat_settings() -> dict:
    """The WeChat mini-program: log-in with wx.login codes, phone numbers, subscribe messages (off
    without an app id). The secret is kept like the others: out of the code, never logged."""
    return {
        "WECHAT_API_BASE": os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        "WECHAT_APP_ID": os.environ.get("WECHAT_APP_ID", ""),
        "WECHAT_APP_SECRET": os.environ.get("WECHAT_APP_SECRET", ""),
        "WECHAT_TIMEOUT_SECONDS": _float("WECHAT_TIMEOUT_SECONDS", 5.0),
        # What a 503 from WeChat (busy, rate limited, timed out) tells the mini-program to wait.
        "WECHAT_RETRY_AFTER_SECONDS": _int("WECHAT_RETRY_AFTER_SECONDS", 5),
        # Subscribe-message templates per notification kind: "order_paid=TEMPLATE_ID,order_shipped=...".
        "WECHAT_SUBSCRIBE_TEMPLATES": os.environ.get("WECHAT_SUBSCRIBE_TEMPLATES", ""),
    }


def notification_settings() -> dict:
    """Delivery of notifications beyond the inbox, by the worker."""
    return {
        # The SMS gateway (HMAC-signed JSON, see shop/notifications/channels.py); off when empty.
        "SMS_GATEWAY_URL": os.environ.get("SMS_GATEWAY_URL", ""),
        "SMS_GATEWAY_SECRET": os.environ.get("SMS_GATEWAY_SECRET", ""),
        "SMS_TIMEOUT_SECONDS": _float("SMS_TIMEOUT_SECONDS", 5.0),
        "NOTIFICATIONS_MAX_ATTEMPTS": _int("NOTIFICATIONS_MAX_ATTEMPTS", 8),
        "NOTIFICATIONS_BACKOFF_SECONDS": _int("NOTIFICATIONS_BACKOFF_SECONDS", 30),
        "NOTIFICATIONS_BACKOFF_MAX_SECONDS": _int("NOTIFICATIONS_BACKOFF_MAX_SECONDS", 3600),
    }
