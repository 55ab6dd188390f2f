from __future__ import annotations

from flask_smorest import Blueprint

from shop.auth.guard import current_actor, login_required
from shop.points import service
from shop.points.schemas import AdjustArgs, PointsEntryPageSchema, PointsEntrySchema, PointsSchema
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint("points", __name__, url_prefix="/api/v1", description="Points balance and history")


@blp.route("/points", methods=["GET"])
@blp.response(200, PointsSchema)
@login_required
def my_points():
    """The logged-in buyer's points balance."""
    return {
        "balance": service.balance(get_session(), current_actor().user_id),
        "point_value_fen": current_settings().points.point_value_fen,
    }


@blp.route("/points/history", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, PointsEntryPageSchema)
@login_required
def my_history(paging):
    """The logged-in buyer's points ledger, newest first."""
    return page_body(service.history(get_session(), current_actor().user_id, **paging), paging)


@blp.route("/admin/users/<int:user_id>/points", methods=["POST"])
@blp.arguments(AdjustArgs)
@blp.response(201, PointsEntrySchema)
@documented_errors(403, 404, 409)
@login_required
def adjust(args, user_id):
    """Admins: credit or debit a user's points with a note (a debit cannot go below zero)."""
    return service.adjust(get_session(), current_actor(), user_id=user_id, **args)
