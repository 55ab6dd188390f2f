"""Page numbers from a page's query string: a bad or huge number is page 1 or the last allowed page,
never an error (a person typed it, or followed an old link)."""

from __future__ import annotations

from flask import request

MAX_PAGE = 10_000


def page_args(*, size: int) -> dict:
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isdigit() and len(raw) <= 6 else 1
    return {"page": min(max(page, 1), MAX_PAGE), "size": size}
