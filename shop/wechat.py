"""The WeChat mini-program's server API, behind one small client: log-in codes to sessions, phone-number
codes to numbers, subscribe messages, and the access token they need (cached until near its expiry).

The protocol (https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/):

    GET  {base}/sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code
         → {openid, session_key, unionid?} | {errcode, errmsg}
    GET  {base}/cgi-bin/token?grant_type=client_credential&appid=&secret=  → {access_token, expires_in}
    POST {base}/wxa/business/getuserphonenumber?access_token=…  {code}
         → {errcode: 0, phone_info: {phoneNumber, purePhoneNumber, countryCode}}
    POST {base}/cgi-bin/message/subscribe/send?access_token=…  {touser, template_id, data}

The app secret, the access token and the session key travel only in these requests: they are never
logged, never put in an error, and the session key is not kept (the phone number comes by its own code).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

# errcodes of the documented protocol that we answer differently
INVALID_CODE = 40029
CODE_USED = 40163
TOKEN_INVALID = 40001
TOKEN_EXPIRED = 42001
RATE_LIMITED = 45011
SYSTEM_BUSY = -1
NOT_SUBSCRIBED = 43101

TOKEN_MARGIN_SECONDS = 300  # refresh this long before the token's stated expiry


class WeChatError(Exception):
    """A refusal or failure of the WeChat API. `kind`: invalid_code, rate_limited, busy, timeout,
    unreachable, not_subscribed or error; `errcode` when WeChat gave one. The message never holds a secret."""

    def __init__(self, kind: str, errcode: int | None = None, errmsg: str = ""):
        super().__init__(f"wechat {kind}" + (f" (errcode {errcode})" if errcode is not None else ""))
        self.kind, self.errcode, self.errmsg = kind, errcode, errmsg[:200]

    @property
    def retryable(self) -> bool:
        return self.kind in ("rate_limited", "busy", "timeout", "unreachable")


@dataclass(frozen=True)
class LoginSession:
    openid: str
    unionid: str | None
    # kept in memory for the length of one request only, never stored, logged or returned
    session_key: str

    def __repr__(self) -> str:
        return f"LoginSession(openid={self.openid!r}, unionid={self.unionid!r})"


@dataclass(frozen=True)
class Phone:
    pure_number: str
    country_code: str


def _kind(errcode: int) -> str:
    if errcode in (INVALID_CODE, CODE_USED):
        return "invalid_code"
    if errcode == RATE_LIMITED:
        return "rate_limited"
    if errcode == SYSTEM_BUSY:
        return "busy"
    if errcode == NOT_SUBSCRIBED:
        return "not_subscribed"
    return "error"


class WeChatClient:
    """One mini-program (app id and secret). Thread-safe; shares its access token among threads."""

    def __init__(self, *, base_url: str, app_id: str, app_secret: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self._secret = app_secret
        self.timeout = timeout
        self._token: tuple[str, float] | None = None  # (token, monotonic time it is good until)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WeChatClient(base_url={self.base_url!r}, app_id={self.app_id!r})"

    # --- transport ----------------------------------------------------------------------------

    def _call(self, path: str, query: dict, body: dict | None = None) -> dict:
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(query)}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = urllib.request.Request(
            url, data=data, method="GET" if body is None else "POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            # the URL (with the secret or token) is left out on purpose
            raise WeChatError("busy" if error.code >= 500 else "error", errmsg=f"HTTP {error.code}") from None
        except TimeoutError:
            raise WeChatError("timeout") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            timed_out = isinstance(getattr(error, "reason", None), TimeoutError)
            raise WeChatError("timeout" if timed_out else "unreachable") from None
        except ValueError:
            raise WeChatError("error", errmsg="not JSON") from None
        errcode = payload.get("errcode") or 0
        if errcode != 0:
            raise WeChatError(_kind(errcode), errcode, str(payload.get("errmsg", "")))
        return payload

    # --- the access token ---------------------------------------------------------------------

    def access_token(self, *, refresh: bool = False) -> str:
        with self._lock:
            if not refresh and self._token is not None and time.monotonic() < self._token[1]:
                return self._token[0]
            payload = self._call(
                "/cgi-bin/token", {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret}
            )
            lifetime = int(payload.get("expires_in") or 7200)
            self._token = (payload["access_token"], time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 1))
            return self._token[0]

    def _with_token(self, path: str, body: dict) -> dict:
        """POST with the access token; a token WeChat calls invalid or expired is refreshed once."""
        try:
            return self._call(path, {"access_token": self.access_token()}, body)
        except WeChatError as error:
            if error.errcode not in (TOKEN_INVALID, TOKEN_EXPIRED):
                raise
        return self._call(path, {"access_token": self.access_token(refresh=True)}, body)

    # --- the operations -----------------------------------------------------------------------

    def code_to_session(self, code: str) -> LoginSession:
        payload = self._call(
            "/sns/jscode2session",
            {"appid": self.app_id, "secret": self._secret, "js_code": code, "grant_type": "authorization_code"},
        )
        if not payload.get("openid"):
            raise WeChatError("error", errmsg="no openid")
        return LoginSession(payload["openid"], payload.get("unionid") or None, payload.get("session_key", ""))

    def phone_number(self, code: str) -> Phone:
        info = self._with_token("/wxa/business/getuserphonenumber", {"code": code}).get("phone_info") or {}
        if not info.get("purePhoneNumber"):
            raise WeChatError("error", errmsg="no phone number")
        return Phone(str(info["purePhoneNumber"]), str(info.get("countryCode") or "86"))

    def send_subscribe_message(self, *, openid: str, template_id: str, data: dict, page: str | None = None) -> None:
        body = {"touser": openid, "template_id": template_id, "data": data}
        if page:
            body["page"] = page
        self._with_token("/cgi-bin/message/subscribe/send", body)


def client_from(config: dict) -> WeChatClient | None:
    """The configured mini-program, or None when no app id is set (WeChat log-in and messages off)."""
    if not config.get("WECHAT_APP_ID"):
        return None
    return WeChatClient(
        base_url=config["WECHAT_API_BASE"],
        app_id=config["WECHAT_APP_ID"],
        app_secret=config["WECHAT_APP_SECRET"],
        timeout=float(config["WECHAT_TIMEOUT_SECONDS"]),
    )
