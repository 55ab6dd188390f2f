"""The certification slice's domain errors and their stable codes (a front end translates the codes)."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict


class CertificationCode(StrEnum):
    ALREADY_EXPIRED = "already_expired"
    CERTIFICATION_EXISTS = "certification_exists"
    NOT_OBJECTABLE = "not_objectable"
    NOT_RENEWABLE = "not_renewable"
    OBJECTION_DECIDED = "objection_decided"
    OBJECTION_WINDOW_CLOSED = "objection_window_closed"
    RENEWAL_EXISTS = "renewal_exists"


class AlreadyExpired(Conflict):
    code = CertificationCode.ALREADY_EXPIRED
    message = "This certification has expired already."


class CertificationExists(Conflict):
    code = CertificationCode.CERTIFICATION_EXISTS
    message = "This product has a certification under way or in force; apply for a renewal instead."


class NotObjectable(Conflict):
    code = CertificationCode.NOT_OBJECTABLE
    message = "This certification no longer takes objections."


class NotRenewable(Conflict):
    code = CertificationCode.NOT_RENEWABLE
    message = "Only a certification that has not expired can be renewed."


class ObjectionDecided(Conflict):
    code = CertificationCode.OBJECTION_DECIDED
    message = "This objection has been decided already."


class ObjectionWindowClosed(Conflict):
    code = CertificationCode.OBJECTION_WINDOW_CLOSED
    message = "The objection window has closed."


class RenewalExists(Conflict):
    code = CertificationCode.RENEWAL_EXISTS
    message = "A renewal of this certification is under way already."
