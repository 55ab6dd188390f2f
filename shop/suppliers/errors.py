"""The suppliers slice's domain errors and their stable codes (a front end translates the codes)."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict


class SuppliersCode(StrEnum):
    USCC_TAKEN = "uscc_taken"


class UsccTaken(Conflict):
    code = SuppliersCode.USCC_TAKEN
    message = "A supplier with this credit code is registered already."
