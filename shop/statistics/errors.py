"""The statistics slice's domain errors and their stable codes."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict, InvalidInput


class StatisticsCode(StrEnum):
    IMPORT_REJECTED = "import_rejected"
    BULLETIN_EXISTS = "bulletin_exists"
    TOO_MANY_GROUPS = "too_many_groups"


class ImportRejected(InvalidInput):
    code = StatisticsCode.IMPORT_REJECTED
    message = "A cell of the file is not valid; nothing was imported."


class TooManyGroups(InvalidInput):
    code = StatisticsCode.TOO_MANY_GROUPS
    message = "The query has too many groups to answer: group by fewer dimensions, a longer period, or filter."


class BulletinExists(Conflict):
    code = StatisticsCode.BULLETIN_EXISTS
    message = "A bulletin of this period is published already; bulletins do not change."
