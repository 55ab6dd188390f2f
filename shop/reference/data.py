"""The reference data file shipped with the project, read by the migration that loads it."""

from __future__ import annotations

import json
from pathlib import Path

DATA_FILE = Path(__file__).with_name("chongqing.json")


def load() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))
