"""Mainland region codes (GB/T 2260): six digits, a province-level prefix, a county-level unit.

The whole national list is not shipped; what can be checked is: the format, that the first two digits
name a mainland province-level division, that the code is below province level, and, in Chongqing
(50), whose districts and counties are the reference data, that it is one of them."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from shop.addresses.errors import InvalidRegion
from shop.reference.models import District

CHONGQING = "50"
# province-level divisions of the mainland: 11 Beijing … 65 Xinjiang (71, 81, 82: Taiwan, Hong Kong, Macao)
MAINLAND_PROVINCES = frozenset(
    str(code)
    for code in [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66)]
)
SIX_DIGITS = re.compile(r"[0-9]{6}")


def check_region_code(session: Session, code: str) -> int | None:
    """Refuse a code that cannot be a mainland county-level region; the Chongqing district id when in Chongqing."""
    if not SIX_DIGITS.fullmatch(code):
        raise InvalidRegion(fields={"region_code": ["Six digits."]})
    if code[:2] not in MAINLAND_PROVINCES:
        raise InvalidRegion(fields={"region_code": ["No mainland province has this prefix."]})
    if code[2:] == "0000":
        raise InvalidRegion(fields={"region_code": ["A province; give the district or county."]})
    if code[:2] == CHONGQING:
        if session.get(District, int(code)) is None:
            raise InvalidRegion(fields={"region_code": ["Not a district or county of Chongqing."]})
        return int(code)
    return None
