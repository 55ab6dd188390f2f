"""Channels beyond the inbox, behind one interface: `send(address, notification) -> Outcome`.

WeChat: a subscribe message of the mini-program (the template of the notification's kind, from
WECHAT_SUBSCRIBE_TEMPLATES) to the user's openid; the template's fields are filled as

    {"thing1": title (20 characters), "thing2": body (20 characters), "time3": "YYYY-MM-DD HH:MM" (Beijing)}

SMS gateway (any provider behind a small adapter of ours), wire format:

    POST <SMS_GATEWAY_URL>
    Content-Type: application/json; charset=utf-8
    X-Sms-Message-Id: <notification id>-<channel>  the same on every retry: the gateway sends the first copy only
    X-Sms-Timestamp: <unix seconds>
    X-Sms-Signature: sha256=<hex HMAC-SHA256(SMS_GATEWAY_SECRET, "<timestamp>." + body)>

    {"message_id": "...", "to": "13800138000", "text": "<title>: <body>", "kind": "order_ready_for_pickup"}

Any 2xx (or 409: a repeat) means accepted; 408, 429, 5xx, a timeout or no connection are tried again
later; another 4xx is a refusal for good.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from shop.notifications.models import Notification
from shop.wechat import WeChatClient, WeChatError

BEIJING = ZoneInfo("Asia/Shanghai")
RETRYABLE_STATUSES = {408, 429}


@dataclass(frozen=True)
class Outcome:
    sent: bool
    retry: bool = False  # not sent, try again later
    skip: bool = False  # not sent, and not to be: the person cannot or will not receive it
    note: str = ""


class ChannelAdapter(Protocol):
    def send(self, address: str, notification: Notification, *, now: datetime) -> Outcome: ...


class WeChatSubscribeChannel:
    def __init__(self, client: WeChatClient, templates: dict[str, str]):
        self.client, self.templates = client, templates

    def send(self, address: str, notification: Notification, *, now: datetime) -> Outcome:
        template = self.templates.get(notification.kind)
        if template is None:
            return Outcome(False, skip=True, note=f"no template for {notification.kind}")
        data = {
            "thing1": {"value": notification.title[:20]},
            "thing2": {"value": (notification.body or notification.title)[:20]},
            "time3": {"value": notification.created_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")},
        }
        try:
            self.client.send_subscribe_message(openid=address, template_id=template, data=data)
        except WeChatError as error:
            note = str(error)  # the kind and errcode only: never the token
            if error.kind == "not_subscribed":
                return Outcome(False, skip=True, note=note)
            return Outcome(False, retry=error.retryable, note=note)
        return Outcome(True)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


class SmsGatewayChannel:
    def __init__(self, url: str, secret: str, timeout: float = 5.0):
        self.url, self._secret, self.timeout = url, secret, timeout

    def send(self, address: str, notification: Notification, *, now: datetime) -> Outcome:
        message_id = f"{notification.id}-sms"
        text = f"{notification.title}: {notification.body}" if notification.body else notification.title
        body = json.dumps(
            {"message_id": message_id, "to": address, "text": text, "kind": notification.kind},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        timestamp = int(now.timestamp())
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Sms-Message-Id": message_id,
                "X-Sms-Timestamp": str(timestamp),
                "X-Sms-Signature": sign(self._secret, timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Outcome(True, note=f"HTTP {response.status}")
        except urllib.error.HTTPError as error:
            if error.code == 409:
                return Outcome(True, note="HTTP 409: sent already")
            return Outcome(
                False, retry=error.code >= 500 or error.code in RETRYABLE_STATUSES, note=f"HTTP {error.code}"
            )
        except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError) as error:
            return Outcome(False, retry=True, note=type(error).__name__)
