"""Procurement API: yearly union-fund budgets and their entries."""

from __future__ import annotations

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.procurement import (
    budgets,
)
from shop.procurement.common_api import blp
from shop.procurement.schemas import (
    BudgetArgs,
    BudgetEntryPageSchema,
    BudgetListSchema,
    BudgetSchema,
    BudgetUpdateArgs,
)
from shop.request_session import get_session
from shop.web import PageArgs, documented_errors, page_body


@blp.route("/procurement/organisations/<int:organisation_id>/budgets", methods=["POST"])
@blp.arguments(BudgetArgs)
@blp.response(201, BudgetSchema)
@documented_errors(403, 404, 409)
@login_required
def create_budget(args, organisation_id):
    """Finance: the union-fund budget of a fiscal year, at most headcount × per-capita cap."""
    return budgets.create_budget(get_session(), current_actor(), organisation_id, now=clock.now(), **args)


@blp.route("/procurement/organisations/<int:organisation_id>/budgets", methods=["GET"])
@blp.response(200, BudgetListSchema)
@documented_errors(404)
@login_required
def list_budgets(organisation_id):
    """The organisation's budgets, by fiscal year."""
    return {"items": budgets.list_budgets(get_session(), current_actor(), organisation_id)}


@blp.route("/procurement/budgets/<int:budget_id>", methods=["GET"])
@blp.response(200, BudgetSchema)
@documented_errors(404)
@login_required
def get_budget(budget_id):
    """A budget: allocated, available, committed (approved, unpaid) and spent."""
    return budgets.get_budget(get_session(), current_actor(), budget_id)


@blp.route("/procurement/budgets/<int:budget_id>", methods=["PATCH"])
@blp.arguments(BudgetUpdateArgs)
@blp.response(200, BudgetSchema)
@documented_errors(403, 404, 409)
@login_required
def change_budget(args, budget_id):
    """Finance: raise or lower the allocation (lowering takes only from what is available)."""
    return budgets.change_amount(get_session(), current_actor(), budget_id, **args)


@blp.route("/procurement/budgets/<int:budget_id>/entries", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, BudgetEntryPageSchema)
@documented_errors(404)
@login_required
def list_budget_entries(paging, budget_id):
    """The budget's ledger: every allocation, commitment, spend, release and return."""
    return page_body(budgets.list_entries(get_session(), current_actor(), budget_id, **paging), paging)
