"""The operator console: the operator's locations as a tree, stock and batches per location, receipts,
counts, write-offs, transfers out and in, orders to prepare and hand over, smart counters and their
cold-chain alerts, and every user's notifications.

Each form is loaded with the JSON API's own input schema and handed to the same service; the
service decides scope (an operator of hall A gets 404 for hall B) and every rule."""

from __future__ import annotations

from datetime import timedelta

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for

from shop import clock
from shop.auth.models import Role
from shop.errors import DomainError
from shop.extensions import rate_limited
from shop.inventory import devices, locations, movements, stock, transfers
from shop.inventory.models import LocationKind, TransferStatus, china_today
from shop.inventory.schemas import CountArgs, ReceiptArgs, ReceiveArgs, TransferArgs, WriteOffArgs
from shop.monitoring import cold_chain
from shop.monitoring.models import IncidentStatus, QuarantineStatus
from shop.monitoring.schemas import QuarantineDecisionArgs
from shop.notifications import service as notifications
from shop.orders import disclosure
from shop.orders import service as orders
from shop.orders.errors import WrongPickupCode
from shop.orders.models import OrderStatus
from shop.orders.schemas import PickupArgs
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.web_pages import forms, sessions
from shop.web_pages.blueprints import page_blueprint
from shop.web_pages.paging import page_args

blp = page_blueprint("console", __name__, url_prefix="/console")

# Batches whose best-before falls within this many days are shown as expiring.
EXPIRING_WITHIN_DAYS = 7
TREE_SIZE = 500
# The stock table's page, and how many expired and expiring batches the stock page lists.
STOCK_PAGE_SIZE = 50
BATCHES_SHOWN = 20


@blp.before_request
@sessions.login_required
def _logged_in():
    return None


def _actor():
    return sessions.page_actor()


def _is_operator() -> bool:
    actor = _actor()
    return actor.is_admin or actor.has(Role.HALL_OPERATOR)


def _done(message: str, target: str):
    flash(message, "success")
    return redirect(target, 303)


def _refused(error: Exception, target: str):
    get_session().rollback()
    forms.flash_refusal(error)
    return redirect(target, 303)


@blp.route("", methods=["GET"])
def home():
    actor = _actor()
    tree = _location_tree() if _is_operator() else []
    return render_template(
        "console/home.html",
        tree=tree,
        supervises=actor.is_admin or actor.has(Role.CERTIFIER) or actor.has(Role.REGULATOR),
    )


def _location_tree() -> list[dict]:
    """The actor's locations as nested nodes: each location under its parent when the parent is
    shown too, else at the top."""
    items, _total = locations.list_locations(get_session(), _actor(), filters={}, page=1, size=TREE_SIZE)
    nodes = {loc.id: {"location": loc, "children": []} for loc in items}
    roots = []
    for loc in items:
        parent = nodes.get(loc.parent_id)
        (parent["children"] if parent else roots).append(nodes[loc.id])
    return roots


def _own_locations():
    items, _total = locations.list_locations(get_session(), _actor(), filters={}, page=1, size=TREE_SIZE)
    return items


# --- stock of one location ---------------------------------------------------------------------


@blp.route("/locations/<int:location_id>", methods=["GET"])
def location(location_id):
    session, actor, now = get_session(), _actor(), clock.now()
    place = locations.get_location(session, actor, location_id)
    low_only = request.args.get("low") == "1"
    paging = page_args(size=STOCK_PAGE_SIZE)
    rows, total = stock.list_stock(session, actor, location_id, filters={"low": low_only or None}, now=now, **paging)
    soon = china_today(now) + timedelta(days=EXPIRING_WITHIN_DAYS)
    expired, expired_total = stock.list_batches(
        session, actor, location_id, filters={"expired": True}, now=now, page=1, size=BATCHES_SHOWN
    )
    expiring, expiring_total = stock.list_batches(
        session,
        actor,
        location_id,
        filters={"expired": False, "best_before_until": soon},
        now=now,
        page=1,
        size=BATCHES_SHOWN,
    )
    return render_template(
        "console/location.html",
        place=place,
        rows=rows,
        total=total,
        paging=paging,
        low_only=low_only,
        expired=expired,
        expired_total=expired_total,
        expiring=expiring,
        expiring_total=expiring_total,
        expiring_days=EXPIRING_WITHIN_DAYS,
        destinations=[loc for loc in _own_locations() if loc.id != place.id and loc.is_active],
        today=china_today(now),
    )


def _back(location_id: int, anchor: str):
    return url_for(".location", location_id=location_id, _anchor=anchor)


@blp.route("/locations/<int:location_id>/receipts", methods=["POST"])
def receive(location_id):
    target = _back(location_id, "receive")
    line = {
        "sku_id": forms.number(request.form.get("sku_id")),
        "trace_code": forms.text("trace_code"),
        "produced_on": forms.text("produced_on"),
        "best_before": forms.text("best_before"),
        "quantity": forms.number(request.form.get("quantity")),
    }
    try:
        args = forms.load(ReceiptArgs(), {"reference": forms.text("reference"), "lines": [_present(line)]})
        movements.receive_stock(get_session(), _actor(), location_id, now=clock.now(), **args)
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    return _done(f"已收货：追溯码 {args['lines'][0]['trace_code']}，{args['lines'][0]['quantity']} 件。", target)


@blp.route("/locations/<int:location_id>/counts", methods=["POST"])
def count(location_id):
    target = _back(location_id, "count")
    line = {"trace_code": forms.text("trace_code"), "counted": forms.number(request.form.get("counted"))}
    try:
        args = forms.load(CountArgs(), {"reason": forms.text("reason"), "lines": [_present(line)]})
        movements.count_stock(get_session(), _actor(), location_id, now=clock.now(), **args)
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    return _done("盘点已记录。", target)


@blp.route("/locations/<int:location_id>/write-offs", methods=["POST"])
def write_off(location_id):
    target = _back(location_id, "write-off")
    line = {"trace_code": forms.text("trace_code"), "quantity": forms.number(request.form.get("quantity"))}
    try:
        args = forms.load(WriteOffArgs(), {"reason": forms.text("reason"), "lines": [_present(line)]})
        movements.write_off_stock(get_session(), _actor(), location_id, now=clock.now(), **args)
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    return _done("报损已记录。", target)


def _present(line: dict) -> dict:
    return {key: value for key, value in line.items() if value is not None}


# --- transfers ---------------------------------------------------------------------------------


@blp.route("/locations/<int:location_id>/transfers", methods=["POST"])
def dispatch(location_id):
    target = _back(location_id, "transfer")
    line = {
        "sku_id": forms.number(request.form.get("sku_id")),
        "quantity": forms.number(request.form.get("quantity")),
        "trace_code": forms.text("trace_code"),
    }
    data = {
        "from_location_id": location_id,
        "to_location_id": forms.number(request.form.get("to_location_id")),
        "note": forms.text("note"),
        "lines": [_present(line)],
    }
    try:
        args = forms.load(TransferArgs(), data)
        sent = transfers.dispatch_transfer(get_session(), _actor(), now=clock.now(), **args)
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    return _done(f"调拨单 #{sent.id} 已发出，在途中。", target)


@blp.route("/transfers", methods=["GET"])
def transfer_list():
    paging = page_args(size=30)
    items, total = transfers.list_transfers(get_session(), _actor(), filters={}, **paging)
    runs = {loc.id for loc in _own_locations()}
    return render_template(
        "console/transfers.html",
        items=items,
        total=total,
        paging=paging,
        runs=runs,
        in_transit=TransferStatus.IN_TRANSIT,
    )


@blp.route("/transfers/<int:transfer_id>/receive", methods=["POST"])
def receive_transfer(transfer_id):
    target = url_for(".transfer_list", _anchor=f"transfer-{transfer_id}")
    lines = [
        {"line_id": forms.number(key.removeprefix("received-")), "quantity_received": forms.number(value)}
        for key, value in request.form.items()
        if key.startswith("received-")
    ]
    try:
        args = forms.load(ReceiveArgs(), {"lines": lines or None})
        transfers.receive_transfer(get_session(), _actor(), transfer_id, lines=args["lines"], now=clock.now())
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    return _done(f"调拨单 #{transfer_id} 已收货。", target)


# --- orders at the counter ---------------------------------------------------------------------


@blp.route("/orders", methods=["GET"])
def order_list():
    session, actor = get_session(), _actor()
    to_prepare, _n = orders.list_location_orders(
        session, actor, location_id=None, status=OrderStatus.PAID, page=1, size=50
    )
    waiting, _n = orders.list_location_orders(
        session, actor, location_id=None, status=OrderStatus.READY_FOR_PICKUP, page=1, size=50
    )
    names = {loc.id: loc.name for loc in _own_locations()}
    return render_template(
        "console/orders.html",
        to_prepare=[disclosure.for_reader(actor, o) for o in to_prepare],
        waiting=[disclosure.for_reader(actor, o) for o in waiting],
        names=names,
    )


@blp.route("/orders/<int:order_id>/ready", methods=["POST"])
def order_ready(order_id):
    target = url_for(".order_list")
    try:
        orders.mark_ready(get_session(), _actor(), order_id, now=clock.now())
    except DomainError as error:
        return _refused(error, target)
    return _done(f"订单 #{order_id} 已备好，等待买家取货。", target)


@blp.route("/orders/<int:order_id>/pickup", methods=["POST"])
@rate_limited("PICKUP_RATE_LIMIT")
def order_pickup(order_id):
    target = url_for(".order_list", _anchor=f"order-{order_id}")
    session = get_session()
    try:
        args = forms.load(PickupArgs(), {"code": forms.text("code") or ""})
        orders.hand_over(
            session, _actor(), order_id, settings=current_settings().orders, now=clock.now(), code=args["code"]
        )
    except WrongPickupCode as error:
        session.commit()  # the wrong code counts although the answer is a refusal (as in the API)
        forms.flash_refusal(error)
        return redirect(target, 303)
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    return _done(f"订单 #{order_id} 已交付。", target)


# --- smart counters ----------------------------------------------------------------------------


@blp.route("/counters", methods=["GET"])
def counters():
    session, actor, now = get_session(), _actor(), clock.now()
    items, _total = locations.list_locations(
        session, actor, filters={"kind": LocationKind.COUNTER}, page=1, size=TREE_SIZE
    )
    stale, stale_total = devices.stale_counters(
        session,
        actor,
        now=now,
        timeout_seconds=current_settings().inventory.heartbeat_timeout_seconds,
        page=1,
        size=100,
    )
    incidents, _n = cold_chain.list_incidents(session, actor, status=IncidentStatus.OPEN, page=1, size=100)
    return render_template(
        "console/counters.html",
        counters=items,
        stale={row["location"].id for row in stale},
        stale_total=stale_total,
        alerts={incident.location_id: incident for incident in incidents},
    )


# --- cold-chain alerts of the operator's counters ----------------------------------------------


@blp.route("/cold-chain", methods=["GET"])
def cold_chain_list():
    session, actor = get_session(), _actor()
    show_all = request.args.get("all") == "1"
    paging = page_args(size=20)
    items, total = cold_chain.list_incidents(session, actor, status=None if show_all else IncidentStatus.OPEN, **paging)
    return render_template(
        "console/cold_chain.html",
        items=items,
        total=total,
        paging=paging,
        show_all=show_all,
        names={loc.id: loc.name for loc in _own_locations()},
        trace_codes=cold_chain.trace_codes(session, [q for i in items for q in i.quarantines]),
        held=QuarantineStatus.HELD,
    )


@blp.route("/cold-chain/quarantines/<int:quarantine_id>/<any(release, 'write-off'):decision>", methods=["POST"])
def decide_quarantine(quarantine_id, decision):
    target = url_for(".cold_chain_list")
    decide = cold_chain.release if decision == "release" else cold_chain.write_off
    try:
        args = forms.load(QuarantineDecisionArgs(), {"note": forms.text("note")})
        decide(get_session(), _actor(), quarantine_id, note=args["note"], now=clock.now())
    except (ma.ValidationError, DomainError) as error:
        return _refused(error, target)
    return _done("批次已放行，恢复可售。" if decision == "release" else "批次已报损。", target)


# --- notifications: the user's own inbox --------------------------------------------------------


@blp.route("/notifications", methods=["GET"])
def notification_list():
    session, actor = get_session(), _actor()
    unread_only = request.args.get("unread") == "1"
    paging = page_args(size=30)
    items, total = notifications.list_inbox(session, actor, unread_only=unread_only, kind=None, **paging)
    return render_template(
        "console/notifications.html",
        items=items,
        total=total,
        paging=paging,
        unread_only=unread_only,
        unread=notifications.unread_count(session, actor),
    )


@blp.route("/notifications/<int:notification_id>/read", methods=["POST"])
def notification_read(notification_id):
    target = url_for(".notification_list", _anchor=f"notification-{notification_id}")
    try:
        notifications.mark_read(get_session(), _actor(), notification_id, now=clock.now())
    except DomainError as error:
        return _refused(error, target)
    return _done("已标记为已读。", target)


@blp.route("/notifications/read-all", methods=["POST"])
def notification_read_all():
    marked = notifications.mark_all_read(get_session(), _actor(), now=clock.now())
    return _done(f"{marked} 条通知已标记为已读。", url_for(".notification_list"))
