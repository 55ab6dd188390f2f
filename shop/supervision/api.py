from __future__ import annotations

from flask_smorest import Blueprint

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.catalog.models import LabelKind
from shop.certification.schemas import CertificationPageSchema
from shop.errors import NotFound
from shop.request_session import get_session
from shop.supervision import amendments, service
from shop.supervision.schemas import (
    AmendmentArgs,
    AmendmentPageSchema,
    AmendmentQueryArgs,
    AmendmentSchema,
    CreditSchema,
    DecisionNoteArgs,
    EligiblePlaceArgs,
    EligiblePlaceEndArgs,
    EligiblePlacePageSchema,
    EligiblePlaceQueryArgs,
    EligiblePlaceSchema,
    ReasonNoteArgs,
    SanctionArgs,
    SanctionPageSchema,
    SanctionQueryArgs,
    SanctionSchema,
    VerifiedLabelSchema,
)
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint(
    "supervision",
    __name__,
    url_prefix="/api/v1",
    description="Supervision: eligible origins, sanctions and credit, amendments, complaints, after-sales, "
    "spot checks, price monitoring, reports",
)


# --- 1. eligibility ----------------------------------------------------------------------------


@blp.route("/eligible-places", methods=["POST"])
@blp.arguments(EligiblePlaceArgs)
@blp.response(201, EligiblePlaceSchema)
@documented_errors(403, 422)
@login_required
def add_eligible_place(args):
    """Admins: make a place outside the poverty-alleviated districts eligible for a period, citing the act."""
    return service.add_eligible_place(get_session(), current_actor(), data=args, now=clock.now())


@blp.route("/eligible-places", methods=["GET"])
@blp.arguments(EligiblePlaceQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, EligiblePlacePageSchema)
def list_eligible_places(query, paging):
    """Public: the dated list of places made eligible beyond the poverty-alleviated districts."""
    return page_body(service.list_eligible_places(get_session(), **query, **paging), paging)


@blp.route("/eligible-places/<int:place_id>/end", methods=["POST"])
@blp.arguments(EligiblePlaceEndArgs)
@blp.response(200, EligiblePlaceSchema)
@documented_errors(403, 404, 422)
@login_required
def end_eligible_place(args, place_id):
    """Admins: end a place's eligibility at an instant."""
    return service.end_eligible_place(get_session(), current_actor(), place_id, **args)


@blp.route("/supervision/reports/ineligible-certifications", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, CertificationPageSchema)
@documented_errors(403)
@login_required
def ineligible_certifications(paging):
    """Certifiers (own districts) and regulators: standing certifications whose origin is no longer eligible."""
    result = service.ineligible_certifications(get_session(), current_actor(), now=clock.now(), **paging)
    return page_body(result, paging)


# --- 5. sanctions and credit -------------------------------------------------------------------


@blp.route("/sanctions", methods=["POST"])
@blp.arguments(SanctionArgs)
@blp.response(201, SanctionSchema)
@documented_errors(403, 404, 409, 422)
@login_required
def impose_sanction(args):
    """Regulators, or the certifier of the district (all but a blacklist): warn, suspend or revoke a
    certification, or blacklist a supplier until a date. A suspension takes the product out of the
    catalog, search, cart and checkout at once."""
    return service.impose_sanction(get_session(), current_actor(), now=clock.now(), **args)


@blp.route("/sanctions", methods=["GET"])
@blp.arguments(SanctionQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, SanctionPageSchema)
@login_required
def list_sanctions(query, paging):
    """Sanctions within the caller's scope (own districts, own supplier; all for regulators), newest first."""
    return page_body(service.list_sanctions(get_session(), current_actor(), filters=query, **paging), paging)


@blp.route("/sanctions/<int:sanction_id>", methods=["GET"])
@blp.response(200, SanctionSchema)
@documented_errors(404)
@login_required
def get_sanction(sanction_id):
    """One sanction with its transitions."""
    return service.get_sanction(get_session(), current_actor(), sanction_id)


@blp.route("/sanctions/<int:sanction_id>/lift", methods=["POST"])
@blp.arguments(ReasonNoteArgs)
@blp.response(200, SanctionSchema)
@documented_errors(403, 404, 409)
@login_required
def lift_sanction(args, sanction_id):
    """Lift a suspension (the certification is in force again at once) or end a blacklist early."""
    return service.lift_sanction(get_session(), current_actor(), sanction_id, now=clock.now(), **args)


@blp.route("/suppliers/<int:supplier_id>/credit", methods=["GET"])
@blp.response(200, CreditSchema)
@documented_errors(403, 404)
@login_required
def supplier_credit(supplier_id):
    """Supervisors and the supplier's members: warnings, suspensions, revocations, upheld complaints,
    blacklist in effect."""
    return service.supplier_credit(get_session(), current_actor(), supplier_id, now=clock.now())


# --- 2. amendments of certified facts ----------------------------------------------------------


@blp.route("/products/<int:product_id>/amendments", methods=["POST"])
@blp.arguments(AmendmentArgs)
@blp.response(201, AmendmentSchema)
@documented_errors(404, 409, 422)
@login_required
def request_amendment(args, product_id):
    """Supplier members: ask to change certified facts (origin, kind, production base, labels with
    evidence); the certifier of the certification's district decides."""
    return amendments.request_amendment(get_session(), current_actor(), product_id, data=args, now=clock.now())


@blp.route("/amendments", methods=["GET"])
@blp.arguments(AmendmentQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, AmendmentPageSchema)
@login_required
def list_amendments(query, paging):
    """Amendments within the caller's scope (own districts, own supplier; all for regulators), newest first."""
    return page_body(amendments.list_amendments(get_session(), current_actor(), filters=query, **paging), paging)


@blp.route("/amendments/<int:amendment_id>", methods=["GET"])
@blp.response(200, AmendmentSchema)
@documented_errors(404)
@login_required
def get_amendment(amendment_id):
    """One amendment with the facts before and the changes asked."""
    return amendments.get_amendment(get_session(), current_actor(), amendment_id)


@blp.route("/amendments/<int:amendment_id>/approve", methods=["POST"])
@blp.arguments(DecisionNoteArgs)
@blp.response(200, AmendmentSchema)
@documented_errors(403, 404, 409)
@login_required
def approve_amendment(args, amendment_id):
    """Certifiers of the district: apply the change (a new origin must be eligible); its labels are verified."""
    return amendments.approve_amendment(get_session(), current_actor(), amendment_id, now=clock.now(), **args)


@blp.route("/amendments/<int:amendment_id>/reject", methods=["POST"])
@blp.arguments(ReasonNoteArgs)
@blp.response(200, AmendmentSchema)
@documented_errors(403, 404, 409)
@login_required
def reject_amendment(args, amendment_id):
    """Certifiers of the district: reject with a reason."""
    return amendments.reject_amendment(get_session(), current_actor(), amendment_id, now=clock.now(), **args)


@blp.route("/amendments/<int:amendment_id>/withdraw", methods=["POST"])
@blp.response(200, AmendmentSchema)
@documented_errors(403, 404, 409)
@login_required
def withdraw_amendment(amendment_id):
    """Supplier members: withdraw a pending amendment."""
    return amendments.withdraw_amendment(get_session(), current_actor(), amendment_id, now=clock.now())


@blp.route("/products/<int:product_id>/labels/<string:kind>/verify", methods=["POST"])
@blp.response(200, VerifiedLabelSchema)
@documented_errors(403, 404, 409)
@login_required
def verify_label(product_id, kind):
    """Certifiers of the product's origin district: mark a label's evidence checked (at review)."""
    try:
        label_kind = LabelKind(kind)
    except ValueError:
        raise NotFound("No such label kind.") from None
    return amendments.verify_label(get_session(), current_actor(), product_id, label_kind, now=clock.now())
