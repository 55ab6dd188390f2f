from __future__ import annotations

from flask_smorest import Blueprint

from shop import clock
from shop.addresses import service
from shop.addresses.schemas import SavedAddressArgs, SavedAddressPageSchema, SavedAddressSchema, SavedAddressUpdateArgs
from shop.auth.guard import current_actor, login_required
from shop.request_session import get_session
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint("addresses", __name__, url_prefix="/api/v1", description="The buyer's address book")


@blp.route("/addresses", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, SavedAddressPageSchema)
@login_required
def list_addresses(paging):
    """The logged-in buyer's addresses: the default first, then the newest."""
    return page_body(service.list_addresses(get_session(), current_actor().user_id, **paging), paging)


@blp.route("/addresses", methods=["POST"])
@blp.arguments(SavedAddressArgs)
@blp.response(201, SavedAddressSchema)
@documented_errors(409)
@login_required
def create_address(args):
    """Add an address (at most 20). The first one is the default; `is_default` makes a later one so."""
    return service.create_address(get_session(), current_actor().user_id, data=args, now=clock.now())


@blp.route("/addresses/<int:address_id>", methods=["GET"])
@blp.response(200, SavedAddressSchema)
@documented_errors(404)
@login_required
def get_address(address_id):
    """One of the buyer's addresses."""
    return service.get_address(get_session(), current_actor().user_id, address_id)


@blp.route("/addresses/<int:address_id>", methods=["PATCH"])
@blp.arguments(SavedAddressUpdateArgs)
@blp.response(200, SavedAddressSchema)
@documented_errors(404)
@login_required
def update_address(args, address_id):
    """Change an address (orders placed with it keep their copy)."""
    return service.update_address(get_session(), current_actor().user_id, address_id, data=args, now=clock.now())


@blp.route("/addresses/<int:address_id>", methods=["DELETE"])
@blp.response(204)
@documented_errors(404)
@login_required
def delete_address(address_id):
    """Delete an address; when it was the default, the newest remaining one becomes the default."""
    service.delete_address(get_session(), current_actor().user_id, address_id)


@blp.route("/addresses/<int:address_id>/default", methods=["POST"])
@blp.response(200, SavedAddressSchema)
@documented_errors(404)
@login_required
def make_default(address_id):
    """Make this address the default (the former default stops being it)."""
    return service.make_default(get_session(), current_actor().user_id, address_id, now=clock.now())
