from __future__ import annotations

from flask_smorest import Blueprint

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.certification import service
from shop.certification.schemas import (
    AnnouncementArgs,
    AnnouncementDetailSchema,
    AnnouncementPageSchema,
    ApplicationArgs,
    ApplyArgs,
    CertificationPageSchema,
    CertificationQueryArgs,
    CertificationSchema,
    DecisionArgs,
    EventPageSchema,
    ObjectionArgs,
    ObjectionDecisionArgs,
    ObjectionPageSchema,
    ObjectionSchema,
    ReasonArgs,
)
from shop.http_cache import public_cache
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint(
    "certification",
    __name__,
    url_prefix="/api/v1",
    description="Certification of assistance products: applications, announcements, objections",
)


@blp.route("/certifications", methods=["POST"])
@blp.arguments(ApplyArgs)
@blp.response(201, CertificationSchema)
@documented_errors(404, 409)
@login_required
def apply(args):
    """Supplier members: apply to certify one of their products."""
    return service.apply_for_certification(get_session(), current_actor(), data=args, now=clock.now())


@blp.route("/certifications", methods=["GET"])
@blp.arguments(CertificationQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, CertificationPageSchema)
@login_required
def list_certifications(query, paging):
    """Certifications within the caller's scope: their supplier's, their districts', or all for
    regulators and admins."""
    return page_body(service.list_certifications(get_session(), current_actor(), filters=query, **paging), paging)


@blp.route("/certifications/<int:cert_id>", methods=["GET"])
@blp.response(200, CertificationSchema)
@documented_errors(404)
@login_required
def get_certification(cert_id):
    """One certification within the caller's scope."""
    return service.get_certification(get_session(), current_actor(), cert_id)


@blp.route("/certifications/<int:cert_id>/events", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, EventPageSchema)
@documented_errors(404)
@login_required
def list_events(paging, cert_id):
    """Every transition of the certification: from, to, who and when, oldest first."""
    return page_body(service.list_events(get_session(), current_actor(), cert_id, **paging), paging)


@blp.route("/certifications/<int:cert_id>/approve", methods=["POST"])
@blp.arguments(DecisionArgs)
@blp.response(200, CertificationSchema)
@documented_errors(403, 404, 409)
@login_required
def approve(args, cert_id):
    """Certifiers of the origin district: approve; a certificate number is assigned."""
    return service.approve_certification(get_session(), current_actor(), cert_id, now=clock.now(), **args)


@blp.route("/certifications/<int:cert_id>/reject", methods=["POST"])
@blp.arguments(ReasonArgs)
@blp.response(200, CertificationSchema)
@documented_errors(403, 404, 409)
@login_required
def reject(args, cert_id):
    """Certifiers of the origin district: reject with a reason."""
    return service.reject_certification(get_session(), current_actor(), cert_id, now=clock.now(), **args)


@blp.route("/certifications/<int:cert_id>/revoke", methods=["POST"])
@blp.arguments(ReasonArgs)
@blp.response(200, CertificationSchema)
@documented_errors(403, 404, 409)
@login_required
def revoke(args, cert_id):
    """Certifiers of the district or regulators: revoke with a reason, effective at once."""
    return service.revoke_certification(get_session(), current_actor(), cert_id, now=clock.now(), **args)


@blp.route("/certifications/<int:cert_id>/renewals", methods=["POST"])
@blp.arguments(ApplicationArgs)
@blp.response(201, CertificationSchema)
@documented_errors(403, 404, 409)
@login_required
def renew(args, cert_id):
    """Supplier members: apply to renew a certification before it expires."""
    return service.renew_certification(get_session(), current_actor(), cert_id, data=args, now=clock.now())


@blp.route("/certifications/<int:cert_id>/objections", methods=["POST"])
@blp.arguments(ObjectionArgs)
@blp.response(201, ObjectionSchema)
@documented_errors(404, 409)
@login_required
def object_to(args, cert_id):
    """Anyone logged in: object to an announced certification during its objection window."""
    return service.file_objection(get_session(), current_actor(), cert_id, now=clock.now(), **args)


@blp.route("/certifications/<int:cert_id>/objections", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, ObjectionPageSchema)
@documented_errors(404)
@login_required
def list_objections(paging, cert_id):
    """Objections to a certification within the caller's scope."""
    return page_body(service.list_objections(get_session(), current_actor(), cert_id, **paging), paging)


@blp.route("/objections/<int:objection_id>/uphold", methods=["POST"])
@blp.arguments(ObjectionDecisionArgs)
@blp.response(200, ObjectionSchema)
@documented_errors(403, 404, 409)
@login_required
def uphold(args, objection_id):
    """Certifiers: uphold an objection; the certification is withdrawn."""
    return service.decide_objection(get_session(), current_actor(), objection_id, uphold=True, now=clock.now(), **args)


@blp.route("/objections/<int:objection_id>/dismiss", methods=["POST"])
@blp.arguments(ObjectionDecisionArgs)
@blp.response(200, ObjectionSchema)
@documented_errors(403, 404, 409)
@login_required
def dismiss(args, objection_id):
    """Certifiers: dismiss an objection; with none left open the certification stands again."""
    return service.decide_objection(get_session(), current_actor(), objection_id, uphold=False, now=clock.now(), **args)


@blp.route("/announcements", methods=["POST"])
@blp.arguments(AnnouncementArgs)
@blp.response(201, AnnouncementDetailSchema)
@documented_errors(403, 404, 409)
@login_required
def publish(args):
    """Certifiers: publish approved certifications of their districts as one announcement batch."""
    cfg = current_settings().certification
    return service.publish_announcement(
        get_session(),
        current_actor(),
        title=args["title"],
        certification_ids=args["certification_ids"],
        objection_days=args["objection_days"] or cfg.objection_days,
        validity_days=cfg.validity_days,
        now=clock.now(),
    )


@blp.route("/announcements", methods=["GET"])
@public_cache()
@blp.arguments(PageArgs, location="query")
@blp.response(200, AnnouncementPageSchema)
def list_announcements(paging):
    """Public: announcement batches, newest first."""
    return page_body(service.list_announcements(get_session(), **paging), paging)


@blp.route("/announcements/<int:announcement_id>", methods=["GET"])
@public_cache()
@blp.response(200, AnnouncementDetailSchema)
@documented_errors(404)
def get_announcement(announcement_id):
    """Public: one batch with certificate number, product, supplier, district and dates."""
    return service.get_announcement(get_session(), announcement_id)
