from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_smorest import Blueprint

from shop.request_session import get_session

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Liveness")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})
    database = ma.fields.String(required=True, metadata={"example": "ok"})


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthSchema)
def health():
    """The service is up and its database answers."""
    get_session().execute(sa.text("SELECT 1"))
    return {"status": "ok", "database": "ok"}
