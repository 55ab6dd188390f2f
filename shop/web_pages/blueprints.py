"""What every page blueprint shares: the CSRF check, the refusal of control characters, the pages'
security headers, and refusals shown as a page (not the API's JSON)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest, HTTPException

from shop.errors import DomainError, Unauthenticated
from shop.web_pages import forms, messages, sessions

# Nothing is loaded from outside the app.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def page_blueprint(name: str, import_name: str, **kwargs) -> Blueprint:
    blp = Blueprint(name, import_name, template_folder="templates", **kwargs)
    blp.before_request(sessions.check_csrf)
    blp.before_request(forms.refuse_control_characters)
    blp.after_request(_page_headers)
    blp.register_error_handler(DomainError, _refusal_page)
    blp.register_error_handler(HTTPException, _http_error_page)
    return blp


def _page_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _refusal_page(error: DomainError):
    if isinstance(error, Unauthenticated):
        return redirect(url_for("public_pages.login", next=request.full_path.rstrip("?")))
    return render_template("error.html", status=error.status, message=messages.error_text(error)), error.status


def _http_error_page(error: HTTPException):
    if isinstance(error, BadRequest) and error.description == "csrf":
        return render_template("error.html", status=400, message="表单校验失败（页面可能已过期），请刷新后重试。"), 400
    status = error.code or 500
    text = {404: "页面不存在。", 405: "不支持此操作。"}.get(status, "请求无法处理。")
    return render_template("error.html", status=status, message=text), status
