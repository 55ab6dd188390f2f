"""The auth slice's domain errors and their stable codes (a front end translates the codes)."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict, DomainError, Forbidden, InvalidInput, Unauthenticated


class AuthCode(StrEnum):
    BAD_CREDENTIALS = "bad_credentials"
    INVALID_TOKEN = "invalid_token"
    LOGIN_TAKEN = "login_taken"
    PHONE_TAKEN = "phone_taken"
    SELF_GRANT = "self_grant"
    SELF_REVOKE = "self_revoke"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_REVOKED = "token_revoked"
    WECHAT_CODE_INVALID = "wechat_code_invalid"
    WECHAT_ERROR = "wechat_error"
    WECHAT_NOT_CONFIGURED = "wechat_not_configured"
    WECHAT_PHONE_CODE_INVALID = "wechat_phone_code_invalid"
    WECHAT_UNAVAILABLE = "wechat_unavailable"


class BadCredentials(Unauthenticated):
    code = AuthCode.BAD_CREDENTIALS
    message = "Login or password is wrong."


class InvalidToken(Unauthenticated):
    code = AuthCode.INVALID_TOKEN
    message = "Wrong kind of token."


class LoginTaken(Conflict):
    code = AuthCode.LOGIN_TAKEN
    message = "An account with this login exists already."


class SelfGrant(Forbidden):
    """Anywhere roles are given (admins' user management, an organisation's members)."""

    code = AuthCode.SELF_GRANT
    message = "Nobody grants roles to themselves; another admin (in an organisation: another approver) must."


class SelfRevoke(Conflict):
    code = AuthCode.SELF_REVOKE
    message = "Admins cannot revoke their own admin role."


class PhoneTaken(Conflict):
    code = AuthCode.PHONE_TAKEN
    message = "This mobile number belongs to another account."


class WeChatCodeInvalid(Unauthenticated):
    """WeChat refused the log-in code (40029 invalid, 40163 used already): wx.login gives a new one."""

    code = AuthCode.WECHAT_CODE_INVALID
    message = "The WeChat log-in code is not valid or was used already."


class WeChatPhoneCodeInvalid(InvalidInput):
    code = AuthCode.WECHAT_PHONE_CODE_INVALID
    message = "The WeChat phone-number code is not valid or was used already."


class WeChatUnavailable(DomainError):
    """WeChat is busy (-1), rate-limits us (45011), timed out or cannot be reached: try again later."""

    status = 503
    code = AuthCode.WECHAT_UNAVAILABLE
    message = "WeChat cannot be reached just now; try again shortly."

    def __init__(self, message: str | None = None, *, retry_after: int, **details):
        super().__init__(message, **details)
        self.headers = {"Retry-After": str(retry_after)}


class WeChatFailed(DomainError):
    """WeChat refused for another reason (a wrong app id or secret, say): the operators must look."""

    status = 502
    code = AuthCode.WECHAT_ERROR
    message = "WeChat refused the request."


class WeChatNotConfigured(DomainError):
    status = 503
    code = AuthCode.WECHAT_NOT_CONFIGURED
    message = "WeChat log-in is not set up on this server."
