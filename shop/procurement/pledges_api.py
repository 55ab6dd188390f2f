"""Procurement API: reserved-share pledges and their completion."""

from __future__ import annotations

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.procurement import (
    pledges,
)
from shop.procurement.common_api import blp
from shop.procurement.schemas import (
    PledgeArgs,
    PledgeCompletionSchema,
    PledgeListSchema,
)
from shop.request_session import get_session
from shop.web import documented_errors


@blp.route("/procurement/organisations/<int:organisation_id>/pledges/<int:year>", methods=["PUT"])
@blp.arguments(PledgeArgs)
@blp.response(200, PledgeCompletionSchema)
@documented_errors(403, 404)
@login_required
def file_pledge(args, organisation_id, year):
    """Approvers or finance file the year's reserved share (预留份额), or revise it; lowering it needs a reason."""
    session = get_session()
    pledge = pledges.file_pledge(session, current_actor(), organisation_id, year, data=args, now=clock.now())
    return pledges.with_completion(session, pledge)


@blp.route("/procurement/organisations/<int:organisation_id>/pledges/<int:year>", methods=["GET"])
@blp.response(200, PledgeCompletionSchema)
@documented_errors(404)
@login_required
def get_pledge(organisation_id, year):
    """The year's pledge, its revisions and its completion."""
    session = get_session()
    return pledges.with_completion(session, pledges.get_pledge(session, current_actor(), organisation_id, year))


@blp.route("/procurement/organisations/<int:organisation_id>/pledges", methods=["GET"])
@blp.response(200, PledgeListSchema)
@documented_errors(404)
@login_required
def list_pledges(organisation_id):
    """Every year's pledge with its completion."""
    session = get_session()
    items = pledges.list_pledges(session, current_actor(), organisation_id)
    return {"items": [pledges.with_completion(session, p) for p in items]}
