from __future__ import annotations

from flask_smorest import Blueprint

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.notifications import service
from shop.notifications.schemas import (
    InboxArgs,
    MarkedSchema,
    NotificationPageSchema,
    NotificationSchema,
    PreferencesArgs,
    PreferencesSchema,
    UnreadSchema,
)
from shop.request_session import get_session
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/api/v1/notifications",
    description="Each user's inbox, and the channels (WeChat, SMS) they want each kind on",
)


@blp.route("", methods=["GET"])
@blp.arguments(InboxArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, NotificationPageSchema)
@login_required
def inbox(args, paging):
    """The logged-in user's notifications, newest first."""
    return page_body(
        service.list_inbox(get_session(), current_actor(), unread_only=args["unread"], kind=args["kind"], **paging),
        paging,
    )


@blp.route("/unread-count", methods=["GET"])
@blp.response(200, UnreadSchema)
@login_required
def unread_count():
    """How many of the user's notifications are unread (for the badge)."""
    return {"unread": service.unread_count(get_session(), current_actor())}


@blp.route("/<int:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
@documented_errors(404)
@login_required
def mark_read(notification_id):
    """Mark one notification read (again: no change)."""
    return service.mark_read(get_session(), current_actor(), notification_id, now=clock.now())


@blp.route("/read-all", methods=["POST"])
@blp.response(200, MarkedSchema)
@login_required
def mark_all_read():
    """Mark every notification of the user read."""
    return {"marked": service.mark_all_read(get_session(), current_actor(), now=clock.now())}


@blp.route("/preferences", methods=["GET"])
@blp.response(200, PreferencesSchema)
@login_required
def preferences():
    """Each kind on each channel beyond the inbox: on or off (a default until the user chooses)."""
    return {"preferences": service.preferences(get_session(), current_actor())}


@blp.route("/preferences", methods=["PUT"])
@blp.arguments(PreferencesArgs)
@blp.response(200, PreferencesSchema)
@login_required
def set_preferences(args):
    """Turn kinds on or off per channel; the rest keep their setting."""
    return {"preferences": service.set_preferences(get_session(), current_actor(), args["preferences"])}
