"""The points slice's domain errors and their stable codes (a front end translates the codes)."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict


class PointsCode(StrEnum):
    INSUFFICIENT_POINTS = "insufficient_points"


class InsufficientPoints(Conflict):
    code = PointsCode.INSUFFICIENT_POINTS
    message = "Not enough points."
