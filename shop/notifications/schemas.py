from __future__ import annotations

import marshmallow as ma

from shop.notifications.models import Channel, NotificationKind
from shop.notifications.service import DELIVERED_CHANNELS
from shop.web import Int, Timestamp, page_schema


class NotificationSchema(ma.Schema):
    id = Int(required=True)
    kind = ma.fields.String(required=True, metadata={"enum": [k.value for k in NotificationKind]})
    title = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    data = ma.fields.Dict(required=True, metadata={"description": "Ids of what it is about, e.g. order_id"})
    created_at = Timestamp(required=True)
    read_at = Timestamp(allow_none=True)
    read = ma.fields.Function(lambda row: row.read_at is not None, required=True)


NotificationPageSchema = page_schema(NotificationSchema, "NotificationPage")


class InboxArgs(ma.Schema):
    unread = ma.fields.Boolean(load_default=False, metadata={"description": "Only the unread ones"})
    kind = ma.fields.Enum(NotificationKind, by_value=True, load_default=None)


class UnreadSchema(ma.Schema):
    unread = Int(required=True)


class MarkedSchema(ma.Schema):
    marked = Int(required=True, metadata={"description": "How many were unread and are read now"})


_CHANNELS = [c.value for c in DELIVERED_CHANNELS]


class PreferenceSchema(ma.Schema):
    kind = ma.fields.Enum(NotificationKind, by_value=True, required=True)
    channel = ma.fields.Enum(
        Channel,
        by_value=True,
        required=True,
        validate=ma.validate.OneOf([Channel(c) for c in _CHANNELS]),
        metadata={"description": "wechat or sms (the inbox always gets everything)"},
    )
    enabled = ma.fields.Boolean(required=True)


class PreferencesArgs(ma.Schema):
    preferences = ma.fields.List(
        ma.fields.Nested(PreferenceSchema), required=True, validate=ma.validate.Length(min=1, max=100)
    )


class PreferencesSchema(ma.Schema):
    preferences = ma.fields.List(ma.fields.Nested(PreferenceSchema), required=True)
