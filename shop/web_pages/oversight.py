"""Certifier, regulator and coordinator pages of the console: the application queue of their
districts, an announcement batch from approved applications, objections, complaints with their
deadlines, price flags, early warnings of unsold produce and bulletins with their charts. Scope is the
services': a certifier sees their districts only."""

from __future__ import annotations

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for

from shop import clock
from shop.auth.models import Role
from shop.certification import service as certification
from shop.certification.models import CertStatus
from shop.certification.schemas import AnnouncementArgs, DecisionArgs, ObjectionDecisionArgs, ReasonArgs
from shop.errors import DomainError
from shop.monitoring import assessments
from shop.monitoring.models import RiskLevel
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.statistics import bulletins
from shop.supervision import complaints, prices
from shop.supervision.schemas import ComplaintSchema, HandlerNoteArgs
from shop.web_pages import forms, sessions
from shop.web_pages.blueprints import page_blueprint
from shop.web_pages.paging import page_args

blp = page_blueprint("oversight", __name__, url_prefix="/console")

QUEUE_SIZE = 100


@blp.before_request
@sessions.login_required
def _logged_in():
    return None


def _actor():
    return sessions.page_actor()


def _done(message: str, target: str):
    flash(message, "success")
    return redirect(target, 303)


def _refused(error: Exception, target: str):
    get_session().rollback()
    forms.flash_refusal(error)
    return redirect(target, 303)


def _certifications(status: CertStatus, size: int = QUEUE_SIZE):
    items, total = certification.list_certifications(
        get_session(), _actor(), filters={"status": status}, page=1, size=size
    )
    return items, total


# --- applications, announcements, objections ---------------------------------------------------


@blp.route("/certifications", methods=["GET"])
def queue():
    pending, pending_total = _certifications(CertStatus.PENDING)
    approved, approved_total = _certifications(CertStatus.APPROVED)
    return render_template(
        "console/certifications.html",
        pending=pending,
        pending_total=pending_total,
        approved=approved,
        approved_total=approved_total,
    )


@blp.route("/certifications/<int:cert_id>/approve", methods=["POST"])
def approve(cert_id):
    target = url_for(".queue")
    try:
        args = forms.load(DecisionArgs(), {"reason": forms.text("reason")})
        cert = certification.approve_certification(get_session(), _actor(), cert_id, now=clock.now(), **args)
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    return _done(f"已通过，认定证书编号 {cert.certificate_no}。", target)


@blp.route("/certifications/<int:cert_id>/reject", methods=["POST"])
def reject(cert_id):
    target = url_for(".queue")
    try:
        args = forms.load(ReasonArgs(), {"reason": forms.text("reason")})
        certification.reject_certification(get_session(), _actor(), cert_id, now=clock.now(), **args)
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    return _done(f"申请 #{cert_id} 未通过。", target)


@blp.route("/announcements", methods=["POST"])
def publish():
    target = url_for(".queue", _anchor="publish")
    data = {
        "title": forms.text("title"),
        "certification_ids": [forms.number(v) for v in request.form.getlist("certification_ids")],
        "objection_days": forms.number(request.form.get("objection_days") or None),
    }
    cfg = current_settings().certification
    try:
        args = forms.load(AnnouncementArgs(), data)
        announcement = certification.publish_announcement(
            get_session(),
            _actor(),
            title=args["title"],
            certification_ids=args["certification_ids"],
            objection_days=args["objection_days"] or cfg.objection_days,
            validity_days=cfg.validity_days,
            now=clock.now(),
        )
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    flash(f"公示「{announcement.title}」已发布。", "success")
    return redirect(url_for("public_pages.announcement", announcement_id=announcement.id), 303)


@blp.route("/objections", methods=["GET"])
def objections():
    session, actor = get_session(), _actor()
    objected, _total = _certifications(CertStatus.OBJECTED)
    entries = [(cert, certification.list_objections(session, actor, cert.id, page=1, size=100)[0]) for cert in objected]
    return render_template("console/objections.html", entries=entries)


@blp.route("/objections/<int:objection_id>/<any(uphold, dismiss):decision>", methods=["POST"])
def decide_objection(objection_id, decision):
    target = url_for(".objections")
    try:
        args = forms.load(ObjectionDecisionArgs(), {"note": forms.text("note")})
        certification.decide_objection(
            get_session(), _actor(), objection_id, uphold=decision == "uphold", now=clock.now(), **args
        )
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    return _done("异议成立，认定已撤回。" if decision == "uphold" else "异议不成立。", target)


# --- complaints and price flags ----------------------------------------------------------------


@blp.route("/complaints", methods=["GET"])
def complaint_list():
    session, actor, now = get_session(), _actor(), clock.now()
    overdue_only = request.args.get("overdue") == "1"
    paging = page_args(size=30)
    filters = {"overdue": True} if overdue_only else {}
    items, total = complaints.list_complaints(session, actor, filters=filters, now=now, **paging)
    overdue_total = complaints.list_complaints(session, actor, filters={"overdue": True}, now=now, page=1, size=1)[1]
    return render_template(
        "console/complaints.html",
        items=ComplaintSchema(many=True).dump(items),
        total=total,
        overdue_total=overdue_total,
        overdue_only=overdue_only,
        paging=paging,
    )


@blp.route("/complaints/<int:complaint_id>/accept", methods=["POST"])
def accept_complaint(complaint_id):
    target = url_for(".complaint_list")
    try:
        args = forms.load(HandlerNoteArgs(), {"note": forms.text("note")})
        complaints.accept_complaint(
            get_session(),
            _actor(),
            complaint_id,
            settings=current_settings().supervision.after_sales.complaints,
            now=clock.now(),
            **args,
        )
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    return _done(f"投诉 #{complaint_id} 已受理。", target)


@blp.route("/price-flags", methods=["GET"])
def price_flags():
    paging = page_args(size=30)
    items, total = prices.list_flags(get_session(), _actor(), filters={"open": True}, **paging)
    actor = _actor()
    return render_template(
        "console/price_flags.html",
        items=items,
        total=total,
        paging=paging,
        closes=actor.has(Role.REGULATOR),  # as the service decides: only a regulator closes a flag
    )


# --- bulletins ---------------------------------------------------------------------------------


@blp.route("/bulletins", methods=["GET"])
def bulletin_list():
    return render_template("console/bulletins.html", items=bulletins.list_bulletins(get_session(), _actor()))


@blp.route("/bulletins/<int:bulletin_id>", methods=["GET"])
def bulletin(bulletin_id):
    found = bulletins.get_bulletin(get_session(), _actor(), bulletin_id)
    return render_template(
        "console/bulletin.html", bulletin=found, tables=bulletins.tables(found), charts=bulletins.echarts(found)
    )


# --- early warnings: unsold produce at risk ----------------------------------------------------


@blp.route("/early-warnings", methods=["GET"])
def early_warnings():
    paging = page_args(size=30)
    items, total = assessments.list_risks(get_session(), _actor(), filters={"min_level": RiskLevel.WARNING}, **paging)
    return render_template("console/early_warnings.html", items=items, total=total, paging=paging)


@blp.route("/price-flags/<int:flag_id>/close", methods=["POST"])
def close_price_flag(flag_id):
    target = url_for(".price_flags")
    try:
        args = forms.load(HandlerNoteArgs(), {"note": forms.text("note")})
        prices.close_flag(get_session(), _actor(), flag_id, now=clock.now(), **args)
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    return _done(f"价格预警 #{flag_id} 已关闭。", target)
