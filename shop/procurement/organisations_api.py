"""Procurement API: organisations, their verification and members."""

from __future__ import annotations

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.procurement import (
    organisations,
)
from shop.procurement.common_api import blp
from shop.procurement.schemas import (
    OrganisationAdminArgs,
    OrganisationArgs,
    OrganisationPageSchema,
    OrganisationQueryArgs,
    OrganisationSchema,
    OrganisationUpdateArgs,
    OrgMemberArgs,
    OrgMemberListSchema,
    OrgMemberSchema,
)
from shop.request_session import get_session
from shop.web import PageArgs, documented_errors, page_body


@blp.route("/procurement/organisations", methods=["POST"])
@blp.arguments(OrganisationArgs)
@blp.response(201, OrganisationSchema)
@documented_errors(409)
@login_required
def register_organisation(args):
    """Register an organisation (it waits for an admin's verification); you become its approver."""
    return organisations.register_organisation(get_session(), current_actor(), data=args, now=clock.now())


@blp.route("/procurement/organisations", methods=["GET"])
@blp.arguments(OrganisationQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, OrganisationPageSchema)
@login_required
def list_organisations(query, paging):
    """The organisations you are a member of (admins: all)."""
    return page_body(organisations.list_organisations(get_session(), current_actor(), **query, **paging), paging)


@blp.route("/procurement/organisations/<int:organisation_id>", methods=["GET"])
@blp.response(200, OrganisationSchema)
@documented_errors(404)
@login_required
def get_organisation(organisation_id):
    """One organisation: its members and admins see it."""
    from shop.procurement import access

    return access.get_organisation(get_session(), current_actor(), organisation_id)


@blp.route("/procurement/organisations/<int:organisation_id>", methods=["PATCH"])
@blp.arguments(OrganisationUpdateArgs)
@blp.response(200, OrganisationSchema)
@documented_errors(403, 404)
@login_required
def update_organisation(args, organisation_id):
    """Approvers edit the organisation; approvers and finance edit its invoice profile (tax number checked).
    The headcount and per-capita cap, which bound a union's budget, are an admin's: 403 `set_by_admin`."""
    return organisations.update_organisation(get_session(), current_actor(), organisation_id, data=args)


@blp.route("/procurement/organisations/<int:organisation_id>/admin-settings", methods=["PATCH"])
@blp.arguments(OrganisationAdminArgs)
@blp.response(200, OrganisationSchema)
@documented_errors(403, 404)
@login_required
def update_admin_settings(args, organisation_id):
    """Admins: the headcount and per-capita cap that bound the union's budget, and the separation of
    duties (on by default: who submits a bulk order does not approve it, who approves does not pay it,
    nobody grants themselves roles); clear it only for an organisation too small to separate them."""
    return organisations.update_admin_settings(get_session(), current_actor(), organisation_id, data=args)


@blp.route("/procurement/organisations/<int:organisation_id>/verify", methods=["POST"])
@blp.response(200, OrganisationSchema)
@documented_errors(403, 404)
@login_required
def verify_organisation(organisation_id):
    """Admins: the organisation is who it says it is; it may now buy."""
    return organisations.verify_organisation(get_session(), current_actor(), organisation_id, now=clock.now())


@blp.route("/procurement/organisations/<int:organisation_id>/members", methods=["GET"])
@blp.response(200, OrgMemberListSchema)
@documented_errors(404)
@login_required
def list_members(organisation_id):
    """Members and their roles: purchaser, approver, finance."""
    return {"items": organisations.list_members(get_session(), current_actor(), organisation_id)}


@blp.route("/procurement/organisations/<int:organisation_id>/members", methods=["POST"])
@blp.arguments(OrgMemberArgs)
@blp.response(201, OrgMemberSchema)
@documented_errors(403, 404)
@login_required
def add_member(args, organisation_id):
    """Approvers: give an existing account roles in the organisation (not themselves: 403 `self_grant`)."""
    return organisations.add_member(get_session(), current_actor(), organisation_id, **args)


@blp.route("/procurement/organisations/<int:organisation_id>/members/<int:user_id>", methods=["DELETE"])
@blp.response(204)
@documented_errors(403, 404, 409)
@login_required
def remove_member(organisation_id, user_id):
    """Approvers: take every role in the organisation from a member."""
    organisations.remove_member(get_session(), current_actor(), organisation_id, user_id)
