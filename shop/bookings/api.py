from __future__ import annotations

from flask_smorest import Blueprint

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.bookings import availability, offerings, service
from shop.bookings.errors import WrongBookingCode
from shop.bookings.schemas import (
    BookingCancelArgs,
    BookingEventPageSchema,
    BookingPageSchema,
    BookingSchema,
    CalendarArgs,
    CheckInArgs,
    MonthArgs,
    OfferingArgs,
    OfferingListSchema,
    OfferingSchema,
    OfferingUpdateArgs,
    SlotAvailabilitySchema,
    SlotListSchema,
    SlotSchema,
    SlotUpdateArgs,
)
from shop.extensions import rate_limited
from shop.request_session import get_session
from shop.settings import current
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint(
    "bookings",
    __name__,
    url_prefix="/api/v1",
    description="Services: offerings, slots with capacity, bookings, check-in",
)


# --- the supplier's offerings and calendars ----------------------------------------------------


@blp.route("/products/<int:product_id>/offerings", methods=["POST"])
@blp.arguments(OfferingArgs)
@blp.response(201, OfferingSchema)
@documented_errors(403, 404, 409)
@login_required
def create_offering(args, product_id):
    """Supplier members: make a SKU of their service product bookable (units, party sizes, prices per
    day type, where to meet, the cancellation policy)."""
    return offerings.create_offering(get_session(), current_actor(), product_id, data=args, now=clock.now())


@blp.route("/products/<int:product_id>/offerings", methods=["GET"])
@blp.response(200, OfferingListSchema)
@documented_errors(403, 404)
@login_required
def list_offerings(product_id):
    """Supplier members: every offering of their product, withdrawn ones too."""
    return {"items": offerings.list_supplier_offerings(get_session(), current_actor(), product_id)}


@blp.route("/offerings/<int:offering_id>", methods=["PATCH"])
@blp.arguments(OfferingUpdateArgs)
@blp.response(200, OfferingSchema)
@documented_errors(403, 404)
@login_required
def update_offering(args, offering_id):
    """Supplier members: change an offering (new prices apply to slots made afterwards)."""
    return offerings.update_offering(get_session(), current_actor(), offering_id, data=args)


@blp.route("/offerings/<int:offering_id>/slots", methods=["POST"])
@blp.arguments(CalendarArgs)
@blp.response(201, SlotListSchema)
@documented_errors(403, 404)
@login_required
def add_slots(args, offering_id):
    """Supplier members: open the calendar of days and start times, with a capacity each; a day
    already holding a slot at that start keeps it. Answers the slots made."""
    slots = offerings.add_slots(get_session(), current_actor(), offering_id, data=args, now=clock.now())
    return {"items": slots}


@blp.route("/slots/<int:slot_id>", methods=["PATCH"])
@blp.arguments(SlotUpdateArgs)
@blp.response(200, SlotSchema)
@documented_errors(403, 404, 409)
@login_required
def update_slot(args, slot_id):
    """Supplier members: change a slot's capacity (never below what is booked: 409), price, or close it."""
    return offerings.update_slot(get_session(), current_actor(), slot_id, data=args)


@blp.route("/slots/<int:slot_id>/guests", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, BookingPageSchema)
@documented_errors(404)
@login_required
def slot_guests(paging, slot_id):
    """The provider: the paid bookings of a slot, to check guests in (codes are never shown here)."""
    return page_body(service.list_slot_guests(get_session(), current_actor(), slot_id, **paging), paging)


# --- the public calendar -----------------------------------------------------------------------


@blp.route("/bookings/products/<int:product_id>/availability", methods=["GET"])
@blp.arguments(MonthArgs, location="query")
@blp.response(200, SlotAvailabilitySchema)
@documented_errors(404)
def slot_availability(args, product_id):
    """A certified service product's slots in a month (Asia/Shanghai days) not started yet, each with
    the capacity left and its price, and the offerings they belong to."""
    year, month = (int(part) for part in args["month"].split("-"))
    session, now = get_session(), clock.now()
    slots = availability.month_availability(session, product_id, year=year, month=month, now=now)
    return {
        "product_id": product_id,
        "month": args["month"],
        "offerings": offerings.list_offerings(session, product_id),
        "slots": slots,
    }


# --- bookings ----------------------------------------------------------------------------------


@blp.route("/bookings", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, BookingPageSchema)
@login_required
def list_my_bookings(paging):
    """The buyer's bookings, newest first, with their codes once paid."""
    return page_body(service.list_my_bookings(get_session(), current_actor(), **paging), paging)


@blp.route("/bookings/<int:booking_id>", methods=["GET"])
@blp.response(200, BookingSchema)
@documented_errors(404)
@login_required
def get_booking(booking_id):
    """A booking: its guest (or the trip's organisation) sees the code and QR payload; the provider
    sees the rest."""
    return service.get_booking(get_session(), current_actor(), booking_id)


@blp.route("/bookings/<int:booking_id>/events", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, BookingEventPageSchema)
@documented_errors(404)
@login_required
def booking_events(paging, booking_id):
    """Who moved the booking, when and why."""
    return page_body(service.list_events(get_session(), current_actor(), booking_id, **paging), paging)


@blp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@blp.arguments(BookingCancelArgs)
@blp.response(200, BookingSchema)
@documented_errors(404, 409)
@login_required
def cancel_booking(args, booking_id):
    """The guest or the organisation cancels a booking (one trip member on their own): the capacity
    comes back and the policy's share at this instant is refunded (in full before the free
    cancellation deadline, the late share after) through the gateway that took the money; for a
    trip, to the organisation's budget too. The provider cancelling refunds everything."""
    settings = current()
    return service.cancel_booking(
        get_session(),
        current_actor(),
        booking_id,
        reason=args["reason"],
        reference=args["reference"],
        order_settings=settings.orders,
        procurement_settings=settings.procurement,
        now=clock.now(),
    )


@blp.route("/bookings/<int:booking_id>/check-in", methods=["POST"])
@rate_limited("PICKUP_RATE_LIMIT")
@blp.arguments(CheckInArgs)
@blp.response(200, BookingSchema)
@documented_errors(404, 409)
@login_required
def check_in(args, booking_id):
    """The provider checks the guest in against the booking code (from 24 hours before the slot to 24
    hours after it). A wrong code is 409 `wrong_booking_code` with `attempts_left`; after
    `PICKUP_MAX_ATTEMPTS` wrong codes the code is locked (409 `booking_code_locked`) until the guest
    asks for a new one."""
    session = get_session()
    try:
        return service.check_in(
            session, current_actor(), booking_id, code=args["code"], order_settings=current().orders, now=clock.now()
        )
    except WrongBookingCode:
        session.commit()  # the wrong code counts although the answer is an error
        raise


@blp.route("/bookings/<int:booking_id>/no-show", methods=["POST"])
@blp.response(200, BookingSchema)
@documented_errors(404, 409)
@login_required
def no_show(booking_id):
    """The provider records that the guest did not come (once the slot has started): nothing is refunded."""
    return service.mark_no_show(
        get_session(), current_actor(), booking_id, order_settings=current().orders, now=clock.now()
    )


@blp.route("/bookings/<int:booking_id>/code", methods=["POST"])
@rate_limited("PICKUP_RATE_LIMIT")
@blp.response(200, BookingSchema)
@documented_errors(404, 409)
@login_required
def renew_code(booking_id):
    """The guest replaces the booking code: the old one stops working, wrong attempts start again."""
    return service.renew_code(get_session(), current_actor(), booking_id, now=clock.now())


@blp.route("/procurement/bulk-orders/<int:bulk_order_id>/bookings", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, BookingPageSchema)
@documented_errors(404)
@login_required
def trip_bookings(paging, bulk_order_id):
    """Members of the organisation: the bookings of a union trip, each member's with its own code."""
    return page_body(service.list_trip_bookings(get_session(), current_actor(), bulk_order_id, **paging), paging)
