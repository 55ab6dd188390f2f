"""The statistics slice's domain errors and their stable codes."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import InvalidInput


class StatisticsCode(StrEnum):
    IMPORT_REJECTED = "import_rejected"


class ImportRejected(InvalidInput):
    code = StatisticsCode.IMPORT_REJECTED
    message = "A cell of the file is not valid; nothing was imported."
