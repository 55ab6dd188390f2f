"""The auth slice's domain errors and their stable codes (a front end translates the codes)."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict, Forbidden, Unauthenticated


class AuthCode(StrEnum):
    BAD_CREDENTIALS = "bad_credentials"
    INVALID_TOKEN = "invalid_token"
    LOGIN_TAKEN = "login_taken"
    SELF_GRANT = "self_grant"
    SELF_REVOKE = "self_revoke"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_REVOKED = "token_revoked"


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
