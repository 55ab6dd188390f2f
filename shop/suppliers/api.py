from __future__ import annotations

from flask_smorest import Blueprint

from shop.auth.guard import current_actor, login_required
from shop.request_session import get_session
from shop.suppliers import service
from shop.suppliers.schemas import (
    MemberArgs,
    MemberPageSchema,
    MemberSchema,
    SupplierCreateArgs,
    SupplierPageSchema,
    SupplierQueryArgs,
    SupplierSchema,
    SupplierUpdateArgs,
)
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint("suppliers", __name__, url_prefix="/api/v1", description="Supplier organisations and members")


@blp.route("/suppliers", methods=["POST"])
@blp.arguments(SupplierCreateArgs)
@blp.response(201, SupplierSchema)
@documented_errors(409)
@login_required
def create_supplier(args):
    """Register a supplier; the user who registers it becomes its first member."""
    return service.create_supplier(get_session(), current_actor(), data=args)


@blp.route("/suppliers", methods=["GET"])
@blp.arguments(SupplierQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, SupplierPageSchema)
def list_suppliers(query, paging):
    """Suppliers, filterable by district and name."""
    return page_body(service.list_suppliers(get_session(), **query, **paging), paging)


@blp.route("/suppliers/<int:supplier_id>", methods=["GET"])
@blp.response(200, SupplierSchema)
@documented_errors(404)
def get_supplier(supplier_id):
    """One supplier."""
    return service.get_supplier(get_session(), supplier_id)


@blp.route("/suppliers/<int:supplier_id>", methods=["PATCH"])
@blp.arguments(SupplierUpdateArgs)
@blp.response(200, SupplierSchema)
@documented_errors(403, 404)
@login_required
def update_supplier(args, supplier_id):
    """Members: change the supplier's name, address or contacts (the credit code is fixed)."""
    return service.update_supplier(get_session(), current_actor(), supplier_id, data=args)


@blp.route("/suppliers/<int:supplier_id>/members", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, MemberPageSchema)
@documented_errors(403, 404)
@login_required
def list_members(paging, supplier_id):
    """Members: who else manages this supplier."""
    return page_body(service.list_members(get_session(), current_actor(), supplier_id, **paging), paging)


@blp.route("/suppliers/<int:supplier_id>/members", methods=["POST"])
@blp.arguments(MemberArgs)
@blp.response(201, MemberSchema)
@documented_errors(403, 404)
@login_required
def add_member(args, supplier_id):
    """Members: add an existing account as a member."""
    return service.add_member(get_session(), current_actor(), supplier_id, **args)


@blp.route("/suppliers/<int:supplier_id>/members/<int:user_id>", methods=["DELETE"])
@blp.response(204)
@documented_errors(403, 404)
@login_required
def remove_member(supplier_id, user_id):
    """Members: remove a member."""
    service.remove_member(get_session(), current_actor(), supplier_id, user_id)
