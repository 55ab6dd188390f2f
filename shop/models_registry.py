"""Imports every model module, so Base.metadata knows every table (Alembic, tests)."""

from search import models as search_models  # noqa: F401
from shop.auth import models as auth_models  # noqa: F401
from shop.catalog import models as catalog_models  # noqa: F401
from shop.certification import models as certification_models  # noqa: F401
from shop.reference import models as reference_models  # noqa: F401
from shop.suppliers import models as supplier_models  # noqa: F401
