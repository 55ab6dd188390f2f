"""Imports every model module, so Base.metadata knows every table (Alembic, tests)."""

from payments import models as payments_models  # noqa: F401
from search import models as search_models  # noqa: F401
from shop import idempotency as idempotency_models  # noqa: F401
from shop.addresses import models as addresses_models  # noqa: F401
from shop.auth import models as auth_models  # noqa: F401
from shop.bookings import models as bookings_models  # noqa: F401
from shop.catalog import models as catalog_models  # noqa: F401
from shop.certification import models as certification_models  # noqa: F401
from shop.inventory import models as inventory_models  # noqa: F401
from shop.jobs import models as jobs_models  # noqa: F401
from shop.monitoring import models as monitoring_models  # noqa: F401
from shop.notifications import models as notifications_models  # noqa: F401
from shop.orders import models as orders_models  # noqa: F401
from shop.points import models as points_models  # noqa: F401
from shop.procurement import models as procurement_models  # noqa: F401
from shop.promotions import models as promotions_models  # noqa: F401
from shop.reference import models as reference_models  # noqa: F401
from shop.statistics import models as statistics_models  # noqa: F401
from shop.supervision import models as supervision_models  # noqa: F401
from shop.suppliers import models as supplier_models  # noqa: F401
