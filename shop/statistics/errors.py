"""The statistics slice's domain errors and their stable codes."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict, InvalidInput


class StatisticsCode(StrEnum):
    IMPORT_REJECTED = "import_rejected"
    BULLETIN_EXISTS = "bulletin_exists"


class ImportRejected(InvalidInput):
    code = StatisticsCode.IMPORT_REJECTED
    message = "A cell of the file is not valid; nothing was imported."


class BulletinExists(Conflict):
    code = StatisticsCode.BULLETIN_EXISTS
    message = "A bulletin of this period is published already; bulletins do not change."
