"""The public pages: announcements (公示) and objections, the certified product directory, a product,
the trace page a package's QR code opens, halls and counters; and log-in for every page."""

from __future__ import annotations

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for

from search import extension as search_extension
from search import service as search_service
from search.schemas import SearchArgs
from shop import clock
from shop.auth import service as auth_service
from shop.catalog.models import BrandTier, LabelKind, ProductKind
from shop.catalog.service import get_public_product
from shop.certification import service as certification
from shop.certification.schemas import ObjectionArgs
from shop.errors import DomainError
from shop.extensions import rate_limited
from shop.inventory import locations, stock
from shop.reference import service as reference
from shop.request_session import get_session
from shop.web_pages import forms, sessions
from shop.web_pages.blueprints import page_blueprint
from shop.web_pages.paging import page_args

blp = page_blueprint("public_pages", __name__, static_folder="static", static_url_path="/assets")

# One value each on the page; the search API takes a list (any of several).
SEARCH_LISTS = ("district_id", "label", "brand_tier")

DIRECTORY_FILTERS = ("q", "district_id", "label", "brand_tier", "kind", "poverty_alleviated", "deep_poverty", "sort")


@blp.route("/", methods=["GET"])
def home():
    announcements, _total = certification.list_announcements(get_session(), page=1, size=5)
    return render_template("public/home.html", announcements=announcements)


# --- log-in ------------------------------------------------------------------------------------


@blp.route("/login", methods=["GET"])
def login():
    return render_template("public/login.html", next=sessions.safe_next(request.args.get("next"), ""))


@blp.route("/login", methods=["POST"])
@rate_limited("LOGIN_RATE_LIMIT")
def login_submit():
    target = sessions.safe_next(request.form.get("next"), url_for("console.home"))
    try:
        user = auth_service.authenticate(
            get_session(), login=request.form.get("login", ""), password=request.form.get("password", "")
        )
    except DomainError as error:
        forms.flash_refusal(error)
        return render_template("public/login.html", next=target, login=request.form.get("login", "")), 401
    sessions.log_in(user.id)
    return redirect(target, 303)


@blp.route("/logout", methods=["POST"])
def logout():
    sessions.log_out()
    flash("您已退出登录。", "info")
    return redirect(url_for("public_pages.home"), 303)


# --- announcements (公示) ------------------------------------------------------------------------


@blp.route("/announcements", methods=["GET"])
def announcements():
    paging = page_args(size=20)
    items, total = certification.list_announcements(get_session(), **paging)
    return render_template("public/announcements.html", items=items, total=total, paging=paging, now=clock.now())


@blp.route("/announcements/<int:announcement_id>", methods=["GET"])
def announcement(announcement_id):
    found = certification.get_announcement(get_session(), announcement_id)
    return render_template("public/announcement.html", announcement=found, now=clock.now())


@blp.route("/announcements/<int:announcement_id>/certifications/<int:cert_id>/objections", methods=["POST"])
@sessions.login_required
def object_to(announcement_id, cert_id):
    back = redirect(url_for(".announcement", announcement_id=announcement_id, _anchor=f"cert-{cert_id}"), 303)
    try:
        args = forms.load(ObjectionArgs(), {"reason": forms.text("reason")})
        certification.file_objection(get_session(), sessions.page_actor(), cert_id, now=clock.now(), **args)
    except (ma.ValidationError, DomainError) as error:
        get_session().rollback()
        forms.flash_refusal(error)
        return back
    flash("异议已提交，认定机关将处理。", "success")
    return back


# --- the certified product directory -----------------------------------------------------------


@blp.route("/products", methods=["GET"])
def directory():
    raw = {key: request.args.get(key) for key in DIRECTORY_FILTERS if request.args.get(key)}
    paging = page_args(size=20)
    try:
        listed = {key: [value] if key in SEARCH_LISTS else value for key, value in raw.items()}
        args = SearchArgs().load({**listed, "highlight": "false", "facets": "false"})
        session = get_session()
        query = search_service.query_from_args(
            session, search_extension(), args, now=clock.now(), page=paging["page"], size=paging["size"]
        )
        answer = search_service.search_products(session, search_extension(), query, facets=False)
        hits, total, refused = [hit.source for hit in answer.result.hits], answer.result.total, None
    except (ma.ValidationError, DomainError) as error:
        hits, total, refused = [], 0, forms.refusal(error)
    districts, _n = reference.list_districts(get_session(), poverty_alleviated=None, page=1, size=100)
    return render_template(
        "public/directory.html",
        hits=hits,
        total=total,
        refused=refused,
        filters=raw,
        paging=paging,
        districts=districts,
        labels=list(LabelKind),
        tiers=list(BrandTier),
        kinds=list(ProductKind),
    )


@blp.route("/products/<int:product_id>", methods=["GET"])
def product(product_id):
    now, session = clock.now(), get_session()
    found = get_public_product(session, product_id, now)
    places, _total = stock.product_availability(session, product_id, district_id=None, now=now, page=1, size=50)
    return render_template("public/product.html", product=found, places=places)


@blp.route("/t/<string:code>", methods=["GET"])
def trace(code):
    """What the QR code on a package opens."""
    return render_template("public/trace.html", trace=stock.trace_batch(get_session(), code, clock.now()))


@blp.route("/halls", methods=["GET"])
def halls():
    paging = page_args(size=50)
    items, total = locations.list_public_locations(get_session(), district_id=None, now=clock.now(), **paging)
    return render_template("public/halls.html", items=items, total=total, paging=paging)
