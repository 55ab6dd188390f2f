"""The address book's domain errors and their stable codes."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict, InvalidInput


class AddressCode(StrEnum):
    ADDRESS_BOOK_FULL = "address_book_full"
    INVALID_REGION = "invalid_region"


class AddressBookFull(Conflict):
    code = AddressCode.ADDRESS_BOOK_FULL
    message = "The address book is full; delete an address first."


class InvalidRegion(InvalidInput):
    code = AddressCode.INVALID_REGION
    message = "Not a mainland county-level region code (GB/T 2260)."
