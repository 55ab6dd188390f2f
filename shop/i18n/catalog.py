"""Message catalogues: the gettext `.po` files under `locales/`, compiled in memory when first used.

No compiled `.mo` file is committed or needed: reading the `.po` at start-up takes milliseconds, so a
fresh clone translates with no extra step and a catalogue can never be older than its source.

A message id may hold `{placeholders}` (an f-string's expressions, marshmallow's `{min}`): such an id
is also a pattern, so the formatted English message finds its translation and the placeholders'
values move into the translated text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
PLACEHOLDER = re.compile(r"\{[^{}]+\}")


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern
    names: tuple[str, ...]  # the placeholders of the message id, in order
    translation: str


class Catalogue:
    """The translations of one locale: exact message ids first, then ids with placeholders."""

    def __init__(self, translations: dict[str, str]):
        self.exact = translations
        self.patterns = [_pattern(msgid, msgstr) for msgid, msgstr in translations.items() if PLACEHOLDER.search(msgid)]

    def get(self, message: str) -> str | None:
        found = self.exact.get(message)
        if found is not None:
            return found
        for pattern in self.patterns:
            match = pattern.regex.fullmatch(message)
            if match:
                return _fill(pattern.translation, dict(zip(pattern.names, match.groups(), strict=True)))
        return None


def _fill(translation: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(0), m.group(0)), translation)


def _pattern(msgid: str, msgstr: str) -> _Pattern:
    parts, names, end = [], [], 0
    for match in PLACEHOLDER.finditer(msgid):
        parts.append(re.escape(msgid[end : match.start()]))
        parts.append("(.+?)")
        names.append(match.group(0))
        end = match.end()
    parts.append(re.escape(msgid[end:]))
    return _Pattern(re.compile("".join(parts), re.DOTALL), tuple(names), msgstr)


def read_translations(path: Path) -> dict[str, str]:
    """msgid → msgstr of a `.po` file, leaving out the untranslated and the fuzzy."""
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {
        message.id: message.string
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string and not message.fuzzy
    }


@functools.cache
def catalogue(locale: str) -> Catalogue:
    path = po_path(locale)
    return Catalogue(read_translations(path) if path.exists() else {})
